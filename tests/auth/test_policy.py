"""RAM policies: the documented examples decided as RAM decides them, conditions, trust policies, and every
way a document is refused (with its message)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tidegate.auth.policy import (
    MAX_POLICY_LENGTH,
    MAX_TRUST_POLICY_LENGTH,
    AccessRequest,
    Decision,
    Effect,
    MalformedPolicyDocument,
    Policy,
    evaluate,
    parse_policy,
    trusts,
)
from tidegate.auth.policy_match import matches

ALLOW, EXPLICIT, IMPLICIT = Decision.ALLOW, Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY


def doc(*statements: Any) -> str:
    return json.dumps({"Version": "1", "Statement": list(statements)})


def policy(*statements: dict[str, Any]) -> Policy:
    return parse_policy(doc(*statements))


def ask(action: str, resource: str, **context: str | tuple[str, ...]) -> AccessRequest:
    ctx = {k.replace("_", ":", 1): (v,) if isinstance(v, str) else v for k, v in context.items()}
    return AccessRequest(action, resource, ctx)


# --- RAM's documented examples ------------------------------------------------------------------------

# The flow execution role of the first source document, filled in.
MNS_SEND = policy(
    {
        "Effect": "Allow",
        "Action": "mns:SendMessage",
        "Resource": "acs:mns:cn-hangzhou:1234567890123456:/queues/orders/messages",
    }
)
# CloudFlow's execution-role guide.
CLOUDFLOW_ROLE = policy(
    {
        "Effect": "Allow",
        "Action": ["fc:InvokeFunction"],
        "Resource": [
            "acs:fc:::services/Test1/functions/Func1",
            "acs:fc:::services/Test2/functions/*",
            "acs:fc:::services/Public*/functions/*",
        ],
    },
    {"Effect": "Allow", "Action": "mns:SendMessage", "Resource": "acs:mns:*:*:/queues/Test1/messages"},
    {"Effect": "Allow", "Action": "fnf:StartExecution", "Resource": "acs:fnf:::flows/Test1/executions/*"},
)
# RAM's StringLike example (OSS folder), and its IpAddress one.
OSS_FOLDER = policy(
    {"Effect": "Allow", "Action": ["oss:GetObject"], "Resource": ["acs:oss:*:*:myphotos/hangzhou/2015/*"]},
    {
        "Effect": "Allow",
        "Action": ["oss:ListObjects"],
        "Resource": ["acs:oss:*:*:myphotos"],
        "Condition": {"StringLike": {"oss:Prefix": "hangzhou/2015/*"}},
    },
)
KMS_FROM_NETWORK = policy(
    {
        "Action": "kms:GenerateDataKey",
        "Effect": "Allow",
        "Resource": "*",
        "Condition": {"IpAddress": {"acs:SourceIp": "116.62.10.0/24"}},
    }
)
OSS_ALL_BUT_FROM_OUTSIDE = policy(
    {"Effect": "Allow", "Action": "oss:*", "Resource": ["acs:oss:*:*:mybucket", "acs:oss:*:*:mybucket/*"]},
    {
        "Effect": "Deny",
        "Action": "oss:*",
        "Resource": "*",
        "Condition": {"NotIpAddress": {"acs:SourceIp": ["192.168.0.0/16", "10.0.0.0/8"]}},
    },
)

EXAMPLES = [
    (MNS_SEND, ask("mns:SendMessage", "acs:mns:cn-hangzhou:1234567890123456:/queues/orders/messages"), ALLOW),
    (MNS_SEND, ask("mns:SendMessage", "acs:mns:cn-hangzhou:1234567890123456:/queues/other/messages"), IMPLICIT),
    (MNS_SEND, ask("mns:SendMessage", "acs:mns:cn-shanghai:1234567890123456:/queues/orders/messages"), IMPLICIT),
    (MNS_SEND, ask("mns:ReceiveMessage", "acs:mns:cn-hangzhou:1234567890123456:/queues/orders/messages"), IMPLICIT),
    (CLOUDFLOW_ROLE, ask("fc:InvokeFunction", "acs:fc:::services/Test1/functions/Func1"), ALLOW),
    (CLOUDFLOW_ROLE, ask("fc:InvokeFunction", "acs:fc:::services/Test1/functions/Func2"), IMPLICIT),
    (CLOUDFLOW_ROLE, ask("fc:InvokeFunction", "acs:fc:::services/Test2/functions/any"), ALLOW),
    (CLOUDFLOW_ROLE, ask("fc:InvokeFunction", "acs:fc:::services/PublicAPI/functions/f"), ALLOW),
    (CLOUDFLOW_ROLE, ask("fc:InvokeFunction", "acs:fc:::services/Private/functions/f"), IMPLICIT),
    (CLOUDFLOW_ROLE, ask("fc:DeleteFunction", "acs:fc:::services/Test1/functions/Func1"), IMPLICIT),
    (CLOUDFLOW_ROLE, ask("mns:SendMessage", "acs:mns:cn-hangzhou:42:/queues/Test1/messages"), ALLOW),
    (CLOUDFLOW_ROLE, ask("mns:SendMessage", "acs:mns:cn-hangzhou:42:/queues/Test2/messages"), IMPLICIT),
    (CLOUDFLOW_ROLE, ask("fnf:StartExecution", "acs:fnf:::flows/Test1/executions/run-1"), ALLOW),
    (CLOUDFLOW_ROLE, ask("fnf:StartExecution", "acs:fnf:::flows/Test2/executions/run-1"), IMPLICIT),
    (OSS_FOLDER, ask("oss:GetObject", "acs:oss:*:*:myphotos/hangzhou/2015/a.jpg"), ALLOW),
    (OSS_FOLDER, ask("oss:GetObject", "acs:oss:*:*:myphotos/hangzhou/2016/a.jpg"), IMPLICIT),
    (OSS_FOLDER, ask("oss:ListObjects", "acs:oss:*:*:myphotos", oss_Prefix="hangzhou/2015/x"), ALLOW),
    (OSS_FOLDER, ask("oss:ListObjects", "acs:oss:*:*:myphotos", oss_Prefix="beijing/"), IMPLICIT),
    (OSS_FOLDER, ask("oss:ListObjects", "acs:oss:*:*:myphotos"), IMPLICIT),  # no prefix: condition false
    (KMS_FROM_NETWORK, ask("kms:GenerateDataKey", "acs:kms:*:*:key/k", acs_SourceIp="116.62.10.7"), ALLOW),
    (KMS_FROM_NETWORK, ask("kms:GenerateDataKey", "acs:kms:*:*:key/k", acs_SourceIp="116.62.11.7"), IMPLICIT),
    (OSS_ALL_BUT_FROM_OUTSIDE, ask("oss:PutObject", "acs:oss:*:*:mybucket/a", acs_SourceIp="10.2.3.4"), ALLOW),
    (OSS_ALL_BUT_FROM_OUTSIDE, ask("oss:PutObject", "acs:oss:*:*:mybucket/a", acs_SourceIp="8.8.8.8"), EXPLICIT),
    (OSS_ALL_BUT_FROM_OUTSIDE, ask("oss:PutObject", "acs:oss:*:*:other/a", acs_SourceIp="10.2.3.4"), IMPLICIT),
]


@pytest.mark.parametrize(("document", "request_", "expected"), EXAMPLES)
def test_documented_examples(document: Policy, request_: AccessRequest, expected: Decision) -> None:
    assert evaluate([document], request_) is expected


def test_actions_match_case_insensitively_resources_do_not() -> None:
    # RAM's "Policy elements": Action values are case-insensitive. Resource ARNs name objects whose names
    # are case-sensitive (queue Test1 and test1 are two queues), so a resource matches with its case.
    assert evaluate([CLOUDFLOW_ROLE], ask("FC:invokefunction", "acs:fc:::services/Test1/functions/Func1")) is ALLOW
    assert evaluate([CLOUDFLOW_ROLE], ask("fc:InvokeFunction", "acs:fc:::services/test1/functions/func1")) is IMPLICIT


def test_wildcards() -> None:
    assert matches("acs:fnf:*:*:flow/*", "acs:fnf:cn-hangzhou:123:flow/a/b")  # * crosses : and /
    assert matches("*", "")
    assert matches("a?c", "abc") and not matches("a?c", "ac") and not matches("a?c", "abbc")
    assert matches("fnf:Describe*", "fnf:DescribeFlow") and not matches("fnf:Describe*", "fnf:ListFlows")
    assert matches("[a]", "[a]") and not matches("[a]", "a")  # brackets are literal, unlike fnmatch
    assert matches("a*b*c", "aXbYbZc") and not matches("a*b*c", "aXbYbZ")
    assert matches("FNF:*", "fnf:x", ignore_case=True) and not matches("FNF:*", "fnf:x")
    assert matches("x\ny", "x\ny") and matches("x*y", "x\n\ny")


def test_a_hostile_pattern_is_not_exponential() -> None:
    started = time.perf_counter()
    assert not matches("*a" * 60 + "*b", "a" * 5000)
    assert time.perf_counter() - started < 1.0


def test_not_action_and_not_resource() -> None:
    everything_but_ram = policy({"Effect": "Allow", "NotAction": "ram:*", "NotResource": "acs:fnf:*:*:flow/secret"})
    assert evaluate([everything_but_ram], ask("fnf:StartExecution", "acs:fnf:r:1:flow/a")) is ALLOW
    assert evaluate([everything_but_ram], ask("ram:CreateUser", "acs:ram::1:user/x")) is IMPLICIT
    assert evaluate([everything_but_ram], ask("fnf:StartExecution", "acs:fnf:r:1:flow/secret")) is IMPLICIT


def test_session_policy_narrows_and_its_deny_wins() -> None:
    full = policy({"Effect": "Allow", "Action": "fnf:*", "Resource": "*"})
    read = policy({"Effect": "Allow", "Action": "fnf:Describe*", "Resource": "*"})
    deny = policy({"Effect": "Deny", "Action": "fnf:DescribeFlow", "Resource": "*"})
    describe, start = ask("fnf:DescribeFlow", "acs:fnf:r:1:flow/a"), ask("fnf:StartExecution", "acs:fnf:r:1:flow/a")
    assert evaluate([full], start, session=read) is IMPLICIT
    assert evaluate([full], describe, session=read) is ALLOW
    assert evaluate([read], start, session=full) is IMPLICIT  # a session policy never grants
    assert evaluate([full], describe, session=deny) is EXPLICIT
    assert evaluate([], describe, session=full) is IMPLICIT
    assert evaluate([], describe) is IMPLICIT


# --- conditions ---------------------------------------------------------------------------------------


def allowed_when(condition: dict[str, Any], **context: str | tuple[str, ...]) -> bool:
    p = policy({"Effect": "Allow", "Action": "fnf:*", "Resource": "*", "Condition": condition})
    return evaluate([p], ask("fnf:ListFlows", "acs:fnf:r:1:flow/a", **context)) is ALLOW


def test_string_operators() -> None:
    assert allowed_when({"StringEquals": {"acs:UserAgent": "cli"}}, acs_UserAgent="cli")
    assert not allowed_when({"StringEquals": {"acs:UserAgent": "cli"}}, acs_UserAgent="CLI")
    assert allowed_when({"StringEqualsIgnoreCase": {"acs:UserAgent": "cli"}}, acs_UserAgent="CLI")
    assert not allowed_when({"StringNotEqualsIgnoreCase": {"acs:UserAgent": "cli"}}, acs_UserAgent="CLI")
    assert allowed_when({"StringNotEquals": {"acs:UserAgent": ["a", "b"]}}, acs_UserAgent="c")
    assert not allowed_when({"StringNotEquals": {"acs:UserAgent": ["a", "b"]}}, acs_UserAgent="b")  # NOR
    assert allowed_when({"StringLike": {"acs:UserAgent": ["x*", "cli/?"]}}, acs_UserAgent="cli/2")  # OR
    assert not allowed_when({"StringNotLike": {"acs:UserAgent": "cli/*"}}, acs_UserAgent="cli/2")


def test_numeric_operators() -> None:
    assert allowed_when({"NumericEquals": {"fnf:Count": 10}}, fnf_Count="10.0")
    assert allowed_when({"NumericLessThan": {"fnf:Count": "10"}}, fnf_Count="9.5")
    assert not allowed_when({"NumericLessThan": {"fnf:Count": "10"}}, fnf_Count="10")
    assert allowed_when({"NumericLessThanEquals": {"fnf:Count": "10"}}, fnf_Count="10")
    assert allowed_when({"NumericGreaterThan": {"fnf:Count": -1}}, fnf_Count="0")
    assert allowed_when({"NumericGreaterThanEquals": {"fnf:Count": 2.5}}, fnf_Count="2.5")
    assert allowed_when({"NumericNotEquals": {"fnf:Count": 3}}, fnf_Count="4")
    assert not allowed_when({"NumericEquals": {"fnf:Count": 3}}, fnf_Count="three")  # not a number: no match


def test_date_operators() -> None:
    assert allowed_when(
        {"DateLessThan": {"acs:CurrentTime": "2030-01-01T00:00:00Z"}}, acs_CurrentTime="2029-12-31T23:59:59Z"
    )
    assert not allowed_when(
        {"DateLessThan": {"acs:CurrentTime": "2030-01-01T00:00:00Z"}}, acs_CurrentTime="2030-01-01T00:00:00Z"
    )
    assert allowed_when(
        {"DateLessThanEquals": {"acs:CurrentTime": "2030-01-01T00:00:00Z"}}, acs_CurrentTime="2030-01-01T00:00:00Z"
    )
    # Zones are honoured: 08:00+08:00 is midnight UTC.
    assert allowed_when(
        {"DateEquals": {"acs:CurrentTime": "2030-01-01T08:00:00+08:00"}}, acs_CurrentTime="2030-01-01T00:00:00Z"
    )
    assert allowed_when(
        {"DateGreaterThan": {"acs:CurrentTime": "2019-08-12T10:00:00Z"}}, acs_CurrentTime="2019-08-12T10:00:01Z"
    )
    assert allowed_when(
        {"DateGreaterThanEquals": {"acs:CurrentTime": "2019-08-12"}}, acs_CurrentTime="2019-08-12T00:00:00Z"
    )
    assert allowed_when(
        {"DateNotEquals": {"acs:CurrentTime": "2019-08-12T10:00:00Z"}}, acs_CurrentTime="2019-08-12T10:00:01Z"
    )
    assert not allowed_when({"DateGreaterThan": {"acs:CurrentTime": "2019-08-12T10:00:00Z"}}, acs_CurrentTime="soon")


def test_bool_and_ip_operators() -> None:
    assert allowed_when({"Bool": {"acs:SecureTransport": True}}, acs_SecureTransport="true")
    assert allowed_when({"Bool": {"acs:SecureTransport": "TRUE"}}, acs_SecureTransport="True")
    assert not allowed_when({"Bool": {"acs:SecureTransport": "true"}}, acs_SecureTransport="false")
    v6 = {"IpAddress": {"acs:SourceIp": ["2001:db8::/32", "10.0.0.1"]}}
    assert allowed_when(v6, acs_SourceIp="2001:db8::7") and allowed_when(v6, acs_SourceIp="10.0.0.1")
    assert not allowed_when(v6, acs_SourceIp="10.0.0.2") and not allowed_when(v6, acs_SourceIp="not-an-ip")
    assert allowed_when(v6, acs_SourceIp="::ffff:10.0.0.1")  # an IPv4 address seen through an IPv6 socket
    assert allowed_when({"NotIpAddress": {"acs:SourceIp": "10.0.0.0/8"}}, acs_SourceIp="11.0.0.1")


def test_several_keys_and_operators_are_all_required() -> None:
    both = {"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}, "Bool": {"acs:SecureTransport": "true"}}
    assert allowed_when(both, acs_SourceIp="10.0.0.1", acs_SecureTransport="true")
    assert not allowed_when(both, acs_SourceIp="10.0.0.1", acs_SecureTransport="false")
    two_keys = {"StringEquals": {"acs:UserAgent": "cli", "fnf:Name": "a"}}
    assert allowed_when(two_keys, acs_UserAgent="cli", fnf_Name="a")
    assert not allowed_when(two_keys, acs_UserAgent="cli")


def test_condition_keys_are_case_insensitive() -> None:
    assert allowed_when({"IpAddress": {"ACS:SOURCEIP": "10.0.0.0/8"}}, acs_sourceip="10.0.0.1")


def test_a_missing_key_fails_positive_operators_and_passes_negated_ones() -> None:
    # The rule AWS IAM documents (RAM documents none): a negated operator is the negation of the positive.
    assert not allowed_when({"StringEquals": {"acs:UserAgent": "cli"}})
    assert not allowed_when({"IpAddress": {"acs:SourceIp": "0.0.0.0/0"}})
    assert allowed_when({"StringNotEquals": {"acs:UserAgent": "cli"}})
    assert allowed_when({"NotIpAddress": {"acs:SourceIp": "10.0.0.0/8"}})


# --- trust policies -----------------------------------------------------------------------------------


def trust(*statements: dict[str, Any]) -> Policy:
    return parse_policy(doc(*statements), trust=True)


def test_trust_policy_for_the_workflow_service() -> None:
    # The trust policy of the CloudFlow execution-role guide.
    t = parse_policy(
        '{"Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service":'
        ' ["fnf.aliyuncs.com"]}}], "Version": "1"}',
        trust=True,
    )
    assert trusts(t, "Service", "fnf.aliyuncs.com")
    assert trusts(t, "Service", "FNF.aliyuncs.com")  # a domain name
    assert not trusts(t, "Service", "fc.aliyuncs.com")
    assert not trusts(t, "RAM", "acs:ram::123:root")


def test_trust_policy_for_an_account_and_a_user() -> None:
    account = trust({"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"RAM": ["acs:ram::123:root"]}})
    for who in ("acs:ram::123:root", "acs:ram::123:user/alice", "acs:ram::123:assumed-role/r/s"):
        assert trusts(account, "RAM", who), who
    assert not trusts(account, "RAM", "acs:ram::1234:user/alice")
    bare = trust({"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"RAM": "123"}})
    assert trusts(bare, "RAM", "acs:ram::123:user/bob") and not trusts(bare, "RAM", "acs:ram::12:root")
    alice = trust({"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"RAM": "acs:ram::123:user/alice"}})
    assert trusts(alice, "RAM", "acs:ram::123:user/alice")
    assert not trusts(alice, "RAM", "acs:ram::123:user/bob") and not trusts(alice, "RAM", "acs:ram::123:root")
    role = trust({"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"RAM": "acs:ram::123:role/ops"}})
    assert trusts(role, "RAM", "acs:ram::123:assumed-role/ops/session-1")
    assert trusts(role, "RAM", "acs:ram::123:role/ops")
    assert not trusts(role, "RAM", "acs:ram::123:assumed-role/ops2/s") and not trusts(role, "RAM", "acs:ram::123:root")
    assert not trusts(role, "RAM", "acs:ram::124:assumed-role/ops/s")


def test_trust_policy_deny_wins_and_conditions_and_actions_count() -> None:
    t = trust(
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"RAM": "acs:ram::123:root"}},
        {"Action": "sts:*", "Effect": "Deny", "Principal": {"RAM": "acs:ram::123:user/mallory"}},
    )
    assert trusts(t, "RAM", "acs:ram::123:user/alice")
    assert not trusts(t, "RAM", "acs:ram::123:user/mallory")
    conditional = trust(
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "fc.aliyuncs.com"},
            "Condition": {"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}},
        }
    )
    assert trusts(conditional, "Service", "fc.aliyuncs.com", {"acs:SourceIp": ("10.0.0.1",)})
    assert not trusts(conditional, "Service", "fc.aliyuncs.com", {"acs:SourceIp": ("11.0.0.1",)})
    assert not trusts(conditional, "Service", "fc.aliyuncs.com")
    other_action = trust({"Action": "sts:AssumeRoleWithSAML", "Effect": "Allow", "Principal": {"Service": "x.com"}})
    assert not trusts(other_action, "Service", "x.com")


def test_a_trust_policy_grants_no_access() -> None:
    t = trust({"Action": "*", "Effect": "Allow", "Principal": {"RAM": "acs:ram::123:root"}})
    assert evaluate([t], ask("fnf:ListFlows", "*")) is IMPLICIT


# --- parsing --------------------------------------------------------------------------------------------


def test_parse_normalises_and_keeps_the_text() -> None:
    text = doc(
        {
            "Effect": "Deny",
            "Action": "fnf:*",
            "NotResource": ["acs:fnf:*:*:flow/a", "acs:fnf:*:*:flow/b"],
            "Condition": {"NumericLessThan": {"fnf:N": [1, 2.5]}, "Bool": {"acs:MFAPresent": False}},
        }
    )
    p = parse_policy(text)
    assert p.text == text and p.version == "1"
    (stmt,) = p.statements
    assert stmt.effect is Effect.DENY and stmt.actions == ("fnf:*",) and stmt.not_actions is None
    assert stmt.resources is None and stmt.not_resources == ("acs:fnf:*:*:flow/a", "acs:fnf:*:*:flow/b")
    assert stmt.conditions == {"NumericLessThan": {"fnf:N": ("1", "2.5")}, "Bool": {"acs:MFAPresent": ("false",)}}
    assert stmt.principals is None


def statement(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"Effect": "Allow", "Action": "fnf:*", "Resource": "*"}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


MALFORMED = [
    ("not json", "not valid JSON"),
    ('{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": NaN}]}', "NaN"),
    ("[]", "the document must be a JSON object, not a list"),
    (
        '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}',
        'Version must be the string "1", not null',
    ),
    ('{"Version": 1, "Statement": []}', 'Version must be the string "1", not 1'),
    ('{"Version": "2", "Statement": []}', "not '2'"),
    ('{"Version": "1"}', "Statement must be a non-empty list of statements, not null"),
    ('{"Version": "1", "Statement": []}', "Statement must be a non-empty list"),
    ('{"Version": "1", "Statement": {"Effect": "Allow"}}', "put the statement object inside [ ]"),
    ('{"Version": "1", "Statement": [], "Id": "x"}', "the document has an unknown field 'Id'"),
    ('{"version": "1", "Statement": []}', "unknown field 'version' (did you mean Version?)"),
    (doc(statement(Sid="s1")), "Statement[0] has an unknown field 'Sid' (known fields: Effect, Action"),
    (doc(statement(), "x"), "Statement[1] must be a JSON object, not 'x'"),
    (doc(statement(Effect="allow")), 'Statement[0].Effect must be "Allow" or "Deny" (case-sensitive), not \'allow\''),
    (doc(statement(Effect=None)), "Statement[0].Effect must be"),
    (doc(statement(Action=None)), "Statement[0] needs Action or NotAction"),
    (doc(statement(NotAction="fnf:x")), "Statement[0] has both Action and NotAction"),
    (doc(statement(Resource=None)), "Statement[0] needs Resource or NotResource"),
    (doc(statement(NotResource="*")), "Statement[0] has both Resource and NotResource"),
    (doc(statement(Action=[])), "Statement[0].Action must be a string or a non-empty list of strings"),
    (doc(statement(Action=3)), "Statement[0].Action must be a string or a non-empty list"),
    (doc(statement(Action=["fnf:a", 7])), "Statement[0].Action must hold non-empty strings, not 7"),
    (doc(statement(Action="StartExecution")), "'StartExecution' is not an action (service:Action"),
    (doc(statement(Action="fnf: Start")), "is not an action"),
    (doc(statement(Resource="flow/a")), "'flow/a' is not a resource (an ARN starting with acs:, or *)"),
    (doc(statement(Resource=[""])), "Statement[0].Resource must hold non-empty strings, not ''"),
    (doc(statement(Principal={"RAM": "1"})), "Statement[0] has a Principal, which only a role's trust policy"),
    (doc(statement(Condition=[])), "Statement[0].Condition must be a JSON object, not a list"),
    (doc(statement(Condition={"StringEquals": "x"})), "Statement[0].Condition.StringEquals must be a JSON object"),
    (doc(statement(Condition={"StringEquals": {}})), "Condition.StringEquals names no condition key"),
    (doc(statement(Condition={"StringEqual": {"a:b": "c"}})), "unknown condition operator 'StringEqual' (known:"),
    (doc(statement(Condition={"stringequals": {"a:b": "c"}})), "case-sensitive: did you mean StringEquals?"),
    (doc(statement(Condition={"StringEqualsIfExists": {"a:b": "c"}})), "'StringEqualsIfExists' is not supported"),
    (doc(statement(Condition={"Null": {"a:b": "true"}})), "'Null' is not supported"),
    (doc(statement(Condition={"StringEquals": {"SourceIp": "c"}})), "'SourceIp' is not a condition key"),
    (doc(statement(Condition={"StringEquals": {"a:b": []}})), "Condition.StringEquals.a:b has an empty list"),
    (doc(statement(Condition={"StringEquals": {"a:b": None}})), "must be a string, number or boolean, not null"),
    (doc(statement(Condition={"StringEquals": {"a:b": [{"x": 1}]}})), "not an object"),
    (doc(statement(Condition={"NumericEquals": {"a:b": "ten"}})), "NumericEquals on 'a:b': 'ten' is not a number"),
    (doc(statement(Condition={"DateLessThan": {"a:b": "tomorrow"}})), "'tomorrow' is not an ISO 8601 date-time"),
    (doc(statement(Condition={"IpAddress": {"a:b": "10.0.0.0/33"}})), "is not an IP address or CIDR"),
    (doc(statement(Condition={"Bool": {"a:b": "yes"}})), "Bool on 'a:b' takes true or false, not 'yes'"),
    (doc(statement(Condition={"Bool": {"a:b": [True, False]}})), "Bool takes one value for 'a:b', not 2"),
]


@pytest.mark.parametrize(("text", "message"), MALFORMED)
def test_malformed_documents_are_refused_with_a_message(text: str, message: str) -> None:
    with pytest.raises(MalformedPolicyDocument) as caught:
        parse_policy(text)
    assert message in caught.value.message
    assert caught.value.code == "MalformedPolicyDocument"


TRUST_MALFORMED = [
    (
        doc({"Effect": "Allow", "Action": "sts:AssumeRole"}),
        "Statement[0] needs a Principal (RAM, Service or Federated)",
    ),
    (
        doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": "1"}, "Resource": "*"}),
        "a trust policy names principals, not resources",
    ),
    (
        doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {}}),
        "Statement[0].Principal names no principal",
    ),
    (doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": "*"}), "Principal must be a JSON object"),
    (
        doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "x"}}),
        "unknown field 'AWS' (known fields: RAM, Service, Federated)",
    ),
    (doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"ram": "1"}}), "did you mean RAM?"),
    (
        doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": "*"}}),
        "Principal.RAM: '*' is not an account id, acs:ram::ACCOUNT:root or acs:ram::ACCOUNT:user/NAME",
    ),
    (
        doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": "acs:ram::1:user/*"}}),
        "is not an account id",
    ),
    (
        doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "fnf"}}),
        "'fnf' is not a service name such as fnf.aliyuncs.com",
    ),
    (
        doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Federated": "acs:ram::1:root"}}),
        "is not acs:ram::ACCOUNT:saml-provider/NAME",
    ),
]


@pytest.mark.parametrize(("text", "message"), TRUST_MALFORMED)
def test_malformed_trust_policies_are_refused_with_a_message(text: str, message: str) -> None:
    with pytest.raises(MalformedPolicyDocument) as caught:
        parse_policy(text, trust=True)
    assert message in caught.value.message


def test_trust_policy_principal_forms_accepted() -> None:
    t = trust(
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {
                "RAM": ["123", "acs:ram::123:root", "acs:ram::123:user/alice", "acs:ram::123:role/r"],
                "Service": "fnf.aliyuncs.com",
                "Federated": "acs:ram::123:saml-provider/idp",
            },
        }
    )
    assert t.statements[0].principals == {
        "RAM": ("123", "acs:ram::123:root", "acs:ram::123:user/alice", "acs:ram::123:role/r"),
        "Service": ("fnf.aliyuncs.com",),
        "Federated": ("acs:ram::123:saml-provider/idp",),
    }
    assert trusts(t, "Federated", "acs:ram::123:saml-provider/idp")


def test_size_limits_are_ram_s() -> None:
    # RAM: a custom policy document holds at most 6,144 characters, a role's trust policy 2,048.
    padding = " " * (MAX_POLICY_LENGTH - len(doc(statement())))
    assert parse_policy(doc(statement()) + padding).statements  # exactly at the limit: fine
    with pytest.raises(MalformedPolicyDocument, match="6145 characters long; RAM allows at most 6144"):
        parse_policy(doc(statement()) + padding + " ")
    small = doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": "1"}})
    with pytest.raises(MalformedPolicyDocument, match=r"trust policy document is 2049 .* at most 2048"):
        parse_policy(small + " " * (MAX_TRUST_POLICY_LENGTH + 1 - len(small)), trust=True)


def test_a_deep_document_is_refused_not_a_crash() -> None:
    with pytest.raises(MalformedPolicyDocument, match="nested deeper"):
        parse_policy("[" * 3000 + "]" * 3000)


@pytest.mark.parametrize(
    ("pattern", "resource", "allowed"),
    [
        ("acs:fc:::services/Test1/functions/Func1", "acs:fc:cn-hangzhou:123:services/Test1/functions/Func1", True),
        ("acs:fnf:::flows/Test1/executions/*", "acs:fnf:cn-hangzhou:123:flows/Test1/executions/e1", True),
        ("acs:fnf:::flows/Test1/executions/*", "acs:fnf:cn-hangzhou:123:flows/Test2/executions/e1", False),
        ("acs:mns:cn-hangzhou::/queues/q/messages", "acs:mns:cn-hangzhou:123:/queues/q/messages", True),
        ("acs:mns:cn-hangzhou::/queues/q/messages", "acs:mns:cn-beijing:123:/queues/q/messages", False),
    ],
)
def test_an_empty_region_or_account_field_matches_any(pattern: str, resource: str, allowed: bool) -> None:
    # Alibaba Cloud's execution-role guide writes its examples with empty fields.
    doc = json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": pattern}]})
    got = evaluate([parse_policy(doc)], AccessRequest(action="fc:InvokeFunction", resource=resource))
    assert (got is Decision.ALLOW) is allowed
    assert parse_policy(doc).text == doc  # the document reads back as written
