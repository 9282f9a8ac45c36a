"""The condition operators of RAM policies: checking their values (when a policy is parsed) and testing them.

Five families, as RAM documents them: String, Numeric, Date, Bool and IP address. Each operator has a
positive form; a negated one (``StringNotEquals``, ``NotIpAddress``…) is exactly its negation:

* several values under one key: the positive form holds when the request's value matches *any* of them
  (OR), so the negated form holds when it matches *none*;
* a key the request does not carry: the positive form is false, so the negated form is true (the rule AWS
  IAM documents; RAM documents none).

Condition keys are case-insensitive (``acs:SourceIp`` and ``acs:sourceip`` are the same key); operator names
are spelled exactly as RAM spells them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from tidegate.auth.policy_match import matches

__all__ = ["OPERATORS", "Family", "Operator", "check_values", "condition_holds", "lookup_operator"]


class Family(StrEnum):
    """The kind of value an operator compares."""

    STRING = "String"
    NUMERIC = "Numeric"
    DATE = "Date"
    BOOL = "Bool"
    IP = "IpAddress"


@dataclass(frozen=True, slots=True)
class Operator:
    """One condition operator: its family, its positive test, and whether it is negated."""

    name: str
    family: Family
    test: Callable[[str, str], bool]  # (policy value, request value) -> matches
    negated: bool = False


# --- values -------------------------------------------------------------------------------------------


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _date(text: str) -> datetime | None:
    """An ISO 8601 date-time (``2019-08-12T10:00:00Z``); one without a zone is UTC. None when not one."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1 (a dual-stack socket's view of IPv4)
    return address


_BOOLS = {"true": True, "false": False}


# --- tests (policy value, request value) ------------------------------------------------------------


def _compare(parse: Callable[[str], object], relation: Callable[[int], bool]) -> Callable[[str, str], bool]:
    def test(want: str, got: str) -> bool:
        a, b = parse(got), parse(want)
        if a is None or b is None:
            return False  # a request value of the wrong kind matches nothing
        order = (a > b) - (a < b)  # type: ignore[operator]
        return relation(order)

    return test


def _in_network(want: str, got: str) -> bool:
    network, address = _network(want), _address(got)
    return network is not None and address is not None and address in network


def _bool_equals(want: str, got: str) -> bool:
    return _BOOLS.get(got.strip().lower()) is _BOOLS.get(want.strip().lower()) is not None


def _table() -> dict[str, Operator]:
    equal, less, less_eq = (lambda o: o == 0), (lambda o: o < 0), (lambda o: o <= 0)
    greater, greater_eq = (lambda o: o > 0), (lambda o: o >= 0)
    ops: list[Operator] = [
        Operator("StringEquals", Family.STRING, lambda w, g: w == g),
        Operator("StringNotEquals", Family.STRING, lambda w, g: w == g, negated=True),
        Operator("StringEqualsIgnoreCase", Family.STRING, lambda w, g: w.casefold() == g.casefold()),
        Operator("StringNotEqualsIgnoreCase", Family.STRING, lambda w, g: w.casefold() == g.casefold(), negated=True),
        Operator("StringLike", Family.STRING, lambda w, g: matches(w, g)),
        Operator("StringNotLike", Family.STRING, lambda w, g: matches(w, g), negated=True),
        Operator("Bool", Family.BOOL, _bool_equals),
        Operator("IpAddress", Family.IP, _in_network),
        Operator("NotIpAddress", Family.IP, _in_network, negated=True),
    ]
    for family, parse in ((Family.NUMERIC, _number), (Family.DATE, _date)):
        prefix = family.value
        ops += [
            Operator(f"{prefix}Equals", family, _compare(parse, equal)),
            Operator(f"{prefix}NotEquals", family, _compare(parse, equal), negated=True),
            Operator(f"{prefix}LessThan", family, _compare(parse, less)),
            Operator(f"{prefix}LessThanEquals", family, _compare(parse, less_eq)),
            Operator(f"{prefix}GreaterThan", family, _compare(parse, greater)),
            Operator(f"{prefix}GreaterThanEquals", family, _compare(parse, greater_eq)),
        ]
    return {op.name: op for op in ops}


#: Every operator tidegate knows, by its RAM name.
OPERATORS: Mapping[str, Operator] = _table()
_BY_FOLDED = {name.casefold(): name for name in OPERATORS}


def lookup_operator(name: str) -> Operator | str:
    """The operator named ``name``, or a sentence saying why there is none."""
    if (op := OPERATORS.get(name)) is not None:
        return op
    hint = _BY_FOLDED.get(name.casefold())
    if hint is not None:
        return f"unknown condition operator {name!r} (operator names are case-sensitive: did you mean {hint}?)"
    if name.endswith("IfExists") or name in ("Null", "ForAnyValue", "ForAllValues") or ":" in name:
        return f"condition operator {name!r} is not supported (RAM does not document it)"
    return f"unknown condition operator {name!r} (known: {', '.join(sorted(OPERATORS))})"


def check_values(op: Operator, key: str, values: tuple[str, ...]) -> str | None:
    """A sentence naming what is wrong with the policy's values for ``op`` and ``key``, or None."""
    if op.family is Family.BOOL:
        if len(values) != 1:
            return f"{op.name} takes one value for {key!r}, not {len(values)} (true or false)"
        if values[0].strip().lower() not in _BOOLS:
            return f"{op.name} on {key!r} takes true or false, not {values[0]!r}"
        return None
    check: Callable[[str], object] | None = {
        Family.NUMERIC: _number,
        Family.DATE: _date,
        Family.IP: _network,
    }.get(op.family)
    if check is None:
        return None
    kind = {Family.NUMERIC: "a number", Family.DATE: "an ISO 8601 date-time", Family.IP: "an IP address or CIDR"}
    for value in values:
        if check(value) is None:
            return f"{op.name} on {key!r}: {value!r} is not {kind[op.family]}"
    return None


def condition_holds(
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]], context: Mapping[str, tuple[str, ...]]
) -> bool:
    """Whether every condition holds for ``context`` (whose keys are already case-folded).

    Unknown operators cannot occur here: :func:`tidegate.auth.policy.parse_policy` refused them.
    """
    for op_name, keys in conditions.items():
        op = OPERATORS[op_name]
        for key, wanted in keys.items():
            got = context.get(key.casefold(), ())
            hit = any(op.test(w, g) for g in got for w in wanted)
            if hit is op.negated:
                return False
    return True
