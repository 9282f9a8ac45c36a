"""``tidegate ram``: users, AccessKeys, policies, roles and attachments on a running server (the RAM API).

Every command is one or a few calls of the server's RAM API (``Version=2015-05-01``), signed with the key
the other commands use (cli/_client.py). ``--json`` prints the API's answer (without its RequestId).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from tidegate.cli._app import main
from tidegate.cli._client import Connection, UsageFailure, connection_options, echo_json
from tidegate.ram.client import RamClient, RamClientError, items, trust_document

__all__ = ["ram_group"]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

_POLICY_TYPES = click.Choice(["System", "Custom"], case_sensitive=False)


def _run(conn: Connection, action: Callable[[RamClient], T]) -> T:
    """Run ``action`` with a RAM client of ``conn``; errors reach the root command, which reports them."""
    with RamClient(conn.endpoint, conn.access_key_id, conn.access_key_secret) as client:
        return action(client)


def _call(conn: Connection, action: str, **params: str | int | bool | None) -> dict[str, Any]:
    doc = _run(conn, lambda c: c.call(action, params))
    doc.pop("RequestId", None)
    return doc


def _pages(client: RamClient, action: str, outer: str, inner: str, **params: str | None) -> Iterator[dict[str, Any]]:
    """Every item of a listing that pages with Marker / IsTruncated."""
    marker: str | None = None
    while True:
        doc = client.call(action, {**params, "MaxItems": 1000, "Marker": marker})
        yield from items(doc, outer, inner)
        if not doc.get("IsTruncated"):
            return
        marker = str(doc.get("Marker") or "")
        if not marker:
            return


def _listing(conn: Connection, action: str, outer: str, inner: str, **params: str | None) -> list[dict[str, Any]]:
    return _run(conn, lambda c: list(_pages(c, action, outer, inner, **params)))


def _json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print the RAM API's answer as JSON.")(f)


def _table(rows: list[list[str]], headers: list[str]) -> None:
    if not rows:
        click.echo("(none)")
        return
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    for row in [headers, *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _done(as_json: bool, result: str, **what: str) -> None:
    """The line (or JSON object) of a command that changes something and returns nothing."""
    if as_json:
        echo_json({"result": result, **what})
    else:
        click.echo(" ".join([result, *(f"{k} {v}" for k, v in what.items())]))


def _read_file(path: Path, option: str) -> str:
    try:
        if str(path) == "-":
            return sys.stdin.read()
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageFailure(f"{option}: cannot read {path}: {exc}") from None


@main.group("ram")
def ram_group() -> None:
    """Manage RAM users, AccessKeys, policies and roles on a running tidegate server (docs/ram.md)."""


# --- users ---------------------------------------------------------------------------------------------


@ram_group.group("users")
def users() -> None:
    """RAM users: identities with their own AccessKeys and policies."""


@users.command("create")
@click.argument("name")
@click.option("--display-name", help="A display name (1-128 characters).")
@click.option("--comments", help="A note (up to 128 characters).")
@click.option("--email", help="The user's e-mail address.")
@click.option("--mobile", "mobile_phone", help="The user's phone number, as 86-13800138000.")
@_json_option
@connection_options
def user_create(
    name: str,
    display_name: str | None,
    comments: str | None,
    email: str | None,
    mobile_phone: str | None,
    as_json: bool,
    conn: Connection,
) -> None:
    """Create RAM user NAME."""
    doc = _call(
        conn,
        "CreateUser",
        UserName=name,
        DisplayName=display_name,
        Comments=comments,
        Email=email,
        MobilePhone=mobile_phone,
    )
    if as_json:
        echo_json(doc)
    else:
        click.echo(f"created user {doc['User']['UserName']} (id {doc['User']['UserId']})")


@users.command("list")
@_json_option
@connection_options
def user_list(as_json: bool, conn: Connection) -> None:
    """List the RAM users."""
    found = _listing(conn, "ListUsers", "Users", "User")
    if as_json:
        echo_json({"Users": {"User": found}})
        return
    rows = [[u["UserName"], u.get("UserId", ""), u.get("DisplayName", ""), u.get("CreateDate", "")] for u in found]
    _table(rows, ["NAME", "ID", "DISPLAY NAME", "CREATED"])


@users.command("delete")
@click.argument("name")
@_json_option
@connection_options
def user_delete(name: str, as_json: bool, conn: Connection) -> None:
    """Delete RAM user NAME (refused while it has AccessKeys, groups or policies)."""
    _call(conn, "DeleteUser", UserName=name)
    _done(as_json, "deleted", user=name)


# --- access keys ---------------------------------------------------------------------------------------


@ram_group.group("keys")
def keys() -> None:
    """A RAM user's AccessKeys (at most two per user)."""


@keys.command("create")
@click.argument("user")
@_json_option
@connection_options
def key_create(user: str, as_json: bool, conn: Connection) -> None:
    """Create an AccessKey for USER and print its secret: it is shown this once."""
    doc = _call(conn, "CreateAccessKey", UserName=user)
    if as_json:
        echo_json(doc)
        return
    key = doc["AccessKey"]
    click.echo(f"AccessKeyId:     {key['AccessKeyId']}")
    click.echo(f"AccessKeySecret: {key['AccessKeySecret']}")
    click.echo("Keep the secret now: it is not shown again.", err=True)


@keys.command("list")
@click.argument("user")
@_json_option
@connection_options
def key_list(user: str, as_json: bool, conn: Connection) -> None:
    """List USER's AccessKeys (IDs and statuses; never secrets)."""
    doc = _call(conn, "ListAccessKeys", UserName=user)
    if as_json:
        echo_json(doc)
        return
    rows = [[k["AccessKeyId"], k["Status"], k.get("CreateDate", "")] for k in items(doc, "AccessKeys", "AccessKey")]
    _table(rows, ["ACCESS KEY ID", "STATUS", "CREATED"])


def _key_status(user: str, key_id: str, status: str, as_json: bool, conn: Connection) -> None:
    _call(conn, "UpdateAccessKey", UserName=user, UserAccessKeyId=key_id, Status=status)
    _done(as_json, "enabled" if status == "Active" else "disabled", user=user, key=key_id)


@keys.command("disable")
@click.argument("user")
@click.argument("key_id")
@_json_option
@connection_options
def key_disable(user: str, key_id: str, as_json: bool, conn: Connection) -> None:
    """Make USER's AccessKey KEY_ID Inactive: requests signed with it are refused."""
    _key_status(user, key_id, "Inactive", as_json, conn)


@keys.command("enable")
@click.argument("user")
@click.argument("key_id")
@_json_option
@connection_options
def key_enable(user: str, key_id: str, as_json: bool, conn: Connection) -> None:
    """Make USER's AccessKey KEY_ID Active again."""
    _key_status(user, key_id, "Active", as_json, conn)


@keys.command("delete")
@click.argument("user")
@click.argument("key_id")
@_json_option
@connection_options
def key_delete(user: str, key_id: str, as_json: bool, conn: Connection) -> None:
    """Delete USER's AccessKey KEY_ID."""
    _call(conn, "DeleteAccessKey", UserName=user, UserAccessKeyId=key_id)
    _done(as_json, "deleted", user=user, key=key_id)


# --- policies ------------------------------------------------------------------------------------------


@ram_group.group("policies")
def policies() -> None:
    """Policies: the System ones and the account's Custom ones (with versions)."""


@policies.command("create")
@click.argument("name")
@click.option(
    "--document",
    "document",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="The policy document (a JSON file; - reads standard input).",
)
@click.option("--description", help="A description (up to 1024 characters).")
@_json_option
@connection_options
def policy_create(name: str, document: Path, description: str | None, as_json: bool, conn: Connection) -> None:
    """Create Custom policy NAME from a policy document."""
    text = _read_file(document, "--document")
    doc = _call(conn, "CreatePolicy", PolicyName=name, PolicyDocument=text, Description=description)
    if as_json:
        echo_json(doc)
    else:
        click.echo(f"created policy {doc['Policy']['PolicyName']} (version {doc['Policy']['DefaultVersion']})")


@policies.command("list")
@click.option("--type", "policy_type", type=_POLICY_TYPES, help="Only System or only Custom policies.")
@_json_option
@connection_options
def policy_list(policy_type: str | None, as_json: bool, conn: Connection) -> None:
    """List policies."""
    kind = policy_type.capitalize() if policy_type else None
    found = _listing(conn, "ListPolicies", "Policies", "Policy", PolicyType=kind)
    if as_json:
        echo_json({"Policies": {"Policy": found}})
        return
    rows = [
        [p["PolicyName"], p["PolicyType"], p.get("DefaultVersion", ""), str(p.get("AttachmentCount", ""))]
        for p in found
    ]
    _table(rows, ["NAME", "TYPE", "VERSION", "ATTACHMENTS"])


def _policy_type(conn: Connection, name: str, given: str | None) -> str:
    """The type of policy NAME: as given, else Custom when the account has one by that name, else System."""
    if given:
        return given.capitalize()
    try:
        _call(conn, "GetPolicy", PolicyName=name, PolicyType="Custom")
    except RamClientError as exc:
        if exc.error_code.startswith("EntityNotExist"):
            return "System"
        raise
    return "Custom"


@policies.command("show")
@click.argument("name")
@click.option("--type", "policy_type", type=_POLICY_TYPES, help="System or Custom [default: Custom if it exists].")
@_json_option
@connection_options
def policy_show(name: str, policy_type: str | None, as_json: bool, conn: Connection) -> None:
    """Show policy NAME and its default version's document."""
    doc = _call(conn, "GetPolicy", PolicyName=name, PolicyType=_policy_type(conn, name, policy_type))
    if as_json:
        echo_json(doc)
        return
    p = doc["Policy"]
    click.echo(f"name:        {p['PolicyName']}")
    click.echo(f"type:        {p['PolicyType']}")
    click.echo(f"description: {p.get('Description', '')}")
    click.echo(f"version:     {p.get('DefaultVersion', '')}")
    click.echo(f"attachments: {p.get('AttachmentCount', 0)}")
    click.echo(doc.get("DefaultPolicyVersion", {}).get("PolicyDocument", ""))


@policies.command("delete")
@click.argument("name")
@_json_option
@connection_options
def policy_delete(name: str, as_json: bool, conn: Connection) -> None:
    """Delete Custom policy NAME (refused while it is attached or has versions besides the default)."""
    _call(conn, "DeletePolicy", PolicyName=name)
    _done(as_json, "deleted", policy=name)


# --- roles ---------------------------------------------------------------------------------------------


@ram_group.group("roles")
def roles() -> None:
    """Roles: identities that services (a flow's execution role) or the account's users assume."""


@roles.command("create")
@click.argument("name")
@click.option(
    "--trust-policy",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="The trust policy document (a JSON file; - reads standard input).",
)
@click.option("--trust-service", multiple=True, help="A service that may assume the role (fnf.aliyuncs.com).")
@click.option("--trust-account", multiple=True, help="An account ID (or RAM ARN) whose users may assume the role.")
@click.option("--description", help="A description (up to 1024 characters).")
@click.option("--max-session-duration", type=click.IntRange(3600, 43200), help="Seconds (3600-43200).")
@_json_option
@connection_options
def role_create(
    name: str,
    trust_policy: Path | None,
    trust_service: tuple[str, ...],
    trust_account: tuple[str, ...],
    description: str | None,
    max_session_duration: int | None,
    as_json: bool,
    conn: Connection,
) -> None:
    """Create role NAME, trusting a policy file or the --trust-service/--trust-account principals."""
    if trust_policy is not None and (trust_service or trust_account):
        raise UsageFailure("give --trust-policy, or --trust-service/--trust-account, not both")
    if trust_policy is not None:
        trust = _read_file(trust_policy, "--trust-policy")
    elif trust_service or trust_account:
        trust = trust_document(trust_service, trust_account)
    else:
        raise UsageFailure("say who may assume the role: --trust-policy FILE, --trust-service or --trust-account")
    doc = _call(
        conn,
        "CreateRole",
        RoleName=name,
        AssumeRolePolicyDocument=trust,
        Description=description,
        MaxSessionDuration=max_session_duration,
    )
    if as_json:
        echo_json(doc)
    else:
        click.echo(f"created role {doc['Role']['RoleName']} ({doc['Role']['Arn']})")


@roles.command("list")
@_json_option
@connection_options
def role_list(as_json: bool, conn: Connection) -> None:
    """List the roles."""
    found = _listing(conn, "ListRoles", "Roles", "Role")
    if as_json:
        echo_json({"Roles": {"Role": found}})
        return
    _table([[r["RoleName"], r.get("Arn", ""), r.get("Description", "")] for r in found], ["NAME", "ARN", "DESCRIPTION"])


@roles.command("show")
@click.argument("name")
@_json_option
@connection_options
def role_show(name: str, as_json: bool, conn: Connection) -> None:
    """Show role NAME, its trust policy and its policies."""
    doc = _call(conn, "GetRole", RoleName=name)
    attached = _call(conn, "ListPoliciesForRole", RoleName=name)
    if as_json:
        echo_json({**doc, **attached})
        return
    r = doc["Role"]
    click.echo(f"name:        {r['RoleName']}")
    click.echo(f"arn:         {r['Arn']}")
    click.echo(f"description: {r.get('Description', '')}")
    click.echo(f"max session: {r.get('MaxSessionDuration', '')} s")
    names = [f"{p['PolicyName']} ({p['PolicyType']})" for p in items(attached, "Policies", "Policy")]
    click.echo(f"policies:    {', '.join(names) or '(none)'}")
    click.echo(r.get("AssumeRolePolicyDocument", ""))


@roles.command("delete")
@click.argument("name")
@_json_option
@connection_options
def role_delete(name: str, as_json: bool, conn: Connection) -> None:
    """Delete role NAME (refused while policies are attached to it)."""
    _call(conn, "DeleteRole", RoleName=name)
    _done(as_json, "deleted", role=name)


# --- attachments ---------------------------------------------------------------------------------------


def _attachment(f: F) -> F:
    for option in reversed(
        [
            click.argument("policy"),
            click.option("--user", help="Attach to this RAM user."),
            click.option("--group", help="Attach to this group."),
            click.option("--role", help="Attach to this role."),
            click.option("--type", "policy_type", type=_POLICY_TYPES, help="[default: Custom if it exists]"),
            _json_option,
            connection_options,
        ]
    ):
        f = option(f)
    return f


def _attach(
    verb: str, policy: str, targets: dict[str, str | None], policy_type: str | None, conn: Connection
) -> tuple[str, str]:
    given = [(kind, name) for kind, name in targets.items() if name]
    if len(given) != 1:
        raise UsageFailure("name exactly one of --user, --group and --role")
    kind, name = given[0]
    assert name is not None
    action = f"{verb}{'To' if verb == 'AttachPolicy' else 'From'}{kind.capitalize()}"
    _call(
        conn,
        action,
        PolicyName=policy,
        PolicyType=_policy_type(conn, policy, policy_type),
        **{f"{kind.capitalize()}Name": name},
    )
    return kind, name


@ram_group.command("attach")
@_attachment
def attach(
    policy: str,
    user: str | None,
    group: str | None,
    role: str | None,
    policy_type: str | None,
    as_json: bool,
    conn: Connection,
) -> None:
    """Attach POLICY to a user, a group or a role."""
    kind, name = _attach("AttachPolicy", policy, {"user": user, "group": group, "role": role}, policy_type, conn)
    _done(as_json, "attached", policy=policy, **{kind: name})


@ram_group.command("detach")
@_attachment
def detach(
    policy: str,
    user: str | None,
    group: str | None,
    role: str | None,
    policy_type: str | None,
    as_json: bool,
    conn: Connection,
) -> None:
    """Detach POLICY from a user, a group or a role."""
    kind, name = _attach("DetachPolicy", policy, {"user": user, "group": group, "role": role}, policy_type, conn)
    _done(as_json, "detached", policy=policy, **{kind: name})
