"""Properties of policy evaluation over generated policies and requests: Deny dominates, order does not
matter, a session policy never widens, ``*`` matches everything, and wildcards agree with a reference."""

from __future__ import annotations

import json
import random
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tidegate.auth.policy import AccessRequest, Decision, Policy, evaluate, parse_policy
from tidegate.auth.policy_match import matches

# Small alphabets so that generated patterns and names collide often.
SERVICES = st.sampled_from(["fnf", "mns", "fc"])
NAMES = st.text(alphabet="abAB", min_size=1, max_size=3)
PATTERN_TEXT = st.text(alphabet="abAB*?", min_size=1, max_size=4)
ACTIONS = st.builds(lambda s, n: f"{s}:{n}", SERVICES, NAMES)
ACTION_PATTERNS = st.one_of(st.just("*"), st.builds(lambda s, n: f"{s}:{n}", SERVICES, PATTERN_TEXT))
RESOURCES = st.builds(lambda n: f"acs:fnf:r:1:flow/{n}", NAMES)
RESOURCE_PATTERNS = st.one_of(st.just("*"), st.builds(lambda n: f"acs:fnf:*:*:flow/{n}", PATTERN_TEXT))
IPS = st.sampled_from(["10.0.0.1", "10.1.0.1", "192.168.1.1", "2001:db8::1"])
CONDITIONS = st.one_of(
    st.just({}),
    st.builds(lambda c: {"IpAddress": {"acs:SourceIp": c}}, st.sampled_from(["10.0.0.0/8", "10.0.0.0/16", "::/0"])),
    st.builds(lambda c: {"NotIpAddress": {"acs:SourceIp": c}}, st.sampled_from(["10.0.0.0/8", "192.168.0.0/16"])),
    st.builds(lambda v: {"StringLike": {"acs:UserAgent": v}}, PATTERN_TEXT),
)


@st.composite
def statements(draw: st.DrawFn, effect: st.SearchStrategy[str] | None = None) -> dict[str, Any]:
    stmt: dict[str, Any] = {"Effect": draw(effect if effect is not None else st.sampled_from(["Allow", "Deny"]))}
    stmt["NotAction" if draw(st.integers(0, 4)) == 0 else "Action"] = draw(
        st.lists(ACTION_PATTERNS, min_size=1, max_size=3)
    )
    stmt["NotResource" if draw(st.integers(0, 4)) == 0 else "Resource"] = draw(
        st.lists(RESOURCE_PATTERNS, min_size=1, max_size=3)
    )
    if condition := draw(CONDITIONS):
        stmt["Condition"] = condition
    return stmt


def to_policy(stmts: list[dict[str, Any]]) -> Policy:
    return parse_policy(json.dumps({"Version": "1", "Statement": stmts}))


POLICY_STATEMENTS = st.lists(statements(), min_size=1, max_size=4)
REQUESTS = st.builds(
    lambda a, r, ip, ua: AccessRequest(a, r, {"acs:SourceIp": (ip,), "acs:UserAgent": (ua,)}),
    ACTIONS,
    RESOURCES,
    IPS,
    NAMES,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(POLICY_STATEMENTS, max_size=3), REQUESTS, st.data())
def test_a_matching_deny_anywhere_is_an_explicit_deny(
    policies: list[list[dict[str, Any]]], request: AccessRequest, data: st.DataObject
) -> None:
    deny = {"Effect": "Deny", "Action": request.action, "Resource": request.resource}
    into_a_policy: bool = data.draw(st.booleans())
    if policies and into_a_policy:
        where = data.draw(st.integers(0, len(policies) - 1))
        at = data.draw(st.integers(0, len(policies[where])))
        policies[where] = [*policies[where][:at], deny, *policies[where][at:]]
        session = None
    else:
        session = to_policy([deny]) if data.draw(st.booleans()) else None
        if session is None:
            policies = [*policies, [deny]]
    assert evaluate([to_policy(p) for p in policies], request, session=session) is Decision.EXPLICIT_DENY


@settings(max_examples=300, deadline=None)
@given(st.lists(POLICY_STATEMENTS, min_size=1, max_size=3), REQUESTS, st.randoms(use_true_random=False))
def test_the_order_of_statements_and_policies_does_not_matter(
    policies: list[list[dict[str, Any]]], request: AccessRequest, rng: random.Random
) -> None:
    before = evaluate([to_policy(p) for p in policies], request)
    shuffled = [rng.sample(p, len(p)) for p in rng.sample(policies, len(policies))]
    assert evaluate([to_policy(p) for p in shuffled], request) is before


@settings(max_examples=300, deadline=None)
@given(st.lists(POLICY_STATEMENTS, max_size=3), POLICY_STATEMENTS, REQUESTS)
def test_a_session_policy_never_widens(
    policies: list[list[dict[str, Any]]], session: list[dict[str, Any]], request: AccessRequest
) -> None:
    identity = [to_policy(p) for p in policies]
    alone = evaluate(identity, request)
    narrowed = evaluate(identity, request, session=to_policy(session))
    if narrowed is Decision.ALLOW:
        assert alone is Decision.ALLOW
    if alone is Decision.EXPLICIT_DENY:
        assert narrowed is Decision.EXPLICIT_DENY
    # The same policy as its own session changes nothing.
    for p in identity:
        assert evaluate([p], request, session=p) is evaluate([p], request)


@settings(max_examples=200, deadline=None)
@given(REQUESTS, st.sampled_from([{"Action": "*"}, {"Action": ["*"]}]), st.sampled_from(["*", ["*"]]))
def test_star_matches_every_action_and_resource(request: AccessRequest, action: dict[str, Any], resource: Any) -> None:
    allow_all = to_policy([{"Effect": "Allow", **action, "Resource": resource}])
    assert evaluate([allow_all], request) is Decision.ALLOW
    deny_all = to_policy([{"Effect": "Deny", **action, "Resource": resource}])
    assert evaluate([allow_all, deny_all], request) is Decision.EXPLICIT_DENY


def reference(pattern: str, text: str) -> bool:
    """A straightforward (backtracking) matcher to compare with."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(body, text, re.DOTALL) is not None


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="ab*?:/", max_size=8), st.text(alphabet="ab:/", max_size=10))
def test_wildcards_agree_with_a_reference_matcher(pattern: str, text: str) -> None:
    assert matches(pattern, text) == reference(pattern, text)
