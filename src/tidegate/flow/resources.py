"""Task targets (docs/flow-language.md): parse ``resourceArn`` and ``action`` into a :class:`Resource`."""

from __future__ import annotations

import re

from tidegate.errors import FlowError
from tidegate.flow.model import Resource, ResourceKind
from tidegate.names import MNS_NAME_PATTERN, NAME_PATTERN

__all__ = ["ResourceError", "parse_action", "parse_resource_arn"]

_NAME = NAME_PATTERN  # FC service/function and FnF flow names
_MNS_NAME = MNS_NAME_PATTERN  # MNS queue/topic names (docs/protocols.md)
_REGION = r"(?P<region>[a-z0-9-]*)"
_ACCOUNT = r"(?P<account>[A-Za-z0-9*_-]*)"

_FC = re.compile(
    rf"acs:fc:{_REGION}:{_ACCOUNT}:services/(?P<service>{_NAME})(?:\.(?P<qualifier>[A-Za-z0-9_-]{{1,128}}))?"
    rf"/functions/(?P<name>{_NAME})"
)
_FC_SERVICE_ONLY = re.compile(r"acs:fc:[^:]*:[^:]*:services/[^/]+")
_MNS = re.compile(rf"acs:mns:{_REGION}:{_ACCOUNT}:/(?P<what>queues|topics)/(?P<name>{_MNS_NAME})/messages")
_FNF = re.compile(rf"acs:fnf:{_REGION}:{_ACCOUNT}:flow/(?P<name>{_NAME})")
_ACTION = re.compile(r"(?P<product>[A-Za-z][A-Za-z0-9-]{0,63}):(?P<name>[A-Za-z][A-Za-z0-9]{0,127})")

_SHAPES = (
    "acs:fc:{region}:{account}:services/{service}[.{qualifier}]/functions/{function}, "
    "acs:mns:{region}:{account}:/queues/{queue}/messages, "
    "acs:mns:{region}:{account}:/topics/{topic}/messages "
    "or acs:fnf:{region}:{account}:flow/{flow} (region and account may be empty)"
)


class ResourceError(FlowError):
    """The task target is not valid."""


def parse_resource_arn(text: str) -> Resource:
    """Parse a task ``resourceArn``.

    Raises:
        ResourceError: when the ARN has none of the shapes of a task target.
    """
    if (m := _FC.fullmatch(text)) is not None:
        return Resource(
            kind=ResourceKind.FUNCTION,
            text=text,
            name=m["name"],
            region=m["region"],
            account=m["account"],
            service=m["service"],
            qualifier=m["qualifier"] or "",
        )
    if (m := _MNS.fullmatch(text)) is not None:
        kind = ResourceKind.QUEUE if m["what"] == "queues" else ResourceKind.TOPIC
        return Resource(kind=kind, text=text, name=m["name"], region=m["region"], account=m["account"])
    if (m := _FNF.fullmatch(text)) is not None:
        return Resource(kind=ResourceKind.FLOW, text=text, name=m["name"], region=m["region"], account=m["account"])
    if _FC_SERVICE_ONLY.fullmatch(text):
        raise ResourceError(
            f'"{text}" names a Function Compute service but no function: '
            "use acs:fc:::services/{service}/functions/{function} (or !Ref Service/Function)"
        )
    raise ResourceError(f'"{text}" is not a valid resource ARN: expected {_SHAPES}')


def parse_action(text: str) -> Resource:
    """Parse a task ``action`` such as ``fnf:StartExecution``.

    Raises:
        ResourceError: when the text is not ``{product}:{Api}``.
    """
    m = _ACTION.fullmatch(text)
    if m is None:
        raise ResourceError(f'"{text}" is not a valid action: expected {{product}}:{{Api}}, e.g. fnf:StartExecution')
    return Resource(kind=ResourceKind.ACTION, text=text, name=m["name"], product=m["product"])
