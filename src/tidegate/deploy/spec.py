"""The deploy file (``deploy.yaml``): parsed and checked into typed declarations, no I/O but reading files.

See docs/deploy.md for the format. Keys of attribute maps are matched without regard to case or
underscores (``VisibilityTimeout``, ``visibility_timeout`` and ``visibilityTimeout`` are one key), so MNS's
own spellings and YAML-style ones both work. Paths are relative to the deploy file's folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tidegate.deploy.errors import DeployFileError
from tidegate.deploy.ram_spec import RamDecl, parse_ram
from tidegate.jsontext import JsonTextError, check_value
from tidegate.jsontext import parse as parse_json

__all__ = [
    "DeployFile",
    "EndpointRef",
    "FlowDecl",
    "FunctionDecl",
    "QueueDecl",
    "RamDecl",
    "ScheduleDecl",
    "ServiceDecl",
    "SubscriptionDecl",
    "TopicDecl",
    "load_deploy_file",
]

_QUEUE_ATTRS = {
    "visibilitytimeout": "visibility_timeout",
    "maximummessagesize": "maximum_message_size",
    "messageretentionperiod": "message_retention_period",
    "delayseconds": "delay_seconds",
    "pollingwaitseconds": "polling_wait_seconds",
    "loggingenabled": "logging_enabled",
}
_TOPIC_ATTRS = {"maximummessagesize": "maximum_message_size", "loggingenabled": "logging_enabled"}


@dataclass(frozen=True, slots=True)
class QueueDecl:
    """A queue and the attributes the file sets (others keep their defaults)."""

    name: str
    attributes: Mapping[str, int | bool] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EndpointRef:
    """A subscription endpoint: a literal URL/ARN, a function's HTTP trigger, or a queue of this server."""

    url: str | None = None
    function: tuple[str, str] | None = None
    queue: str | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionDecl:
    """A topic subscription."""

    name: str
    endpoint: EndpointRef
    notify_strategy: str | None = None
    notify_content_format: str | None = None
    filter_tag: str | None = None


@dataclass(frozen=True, slots=True)
class TopicDecl:
    """A topic, its attributes and its subscriptions."""

    name: str
    attributes: Mapping[str, int | bool] = field(default_factory=dict)
    subscriptions: tuple[SubscriptionDecl, ...] = ()


@dataclass(frozen=True, slots=True)
class FunctionDecl:
    """A function: the PUT body of ``/api/v1/functions/{service}/{name}``."""

    service: str
    name: str
    body: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ServiceDecl:
    """A function service: its role (a role name of the account, or a role ARN; "" for none)."""

    name: str
    role: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class ScheduleDecl:
    """A schedule of a flow."""

    name: str
    cron: str
    payload: Mapping[str, Any] | None = None
    enable: bool = True
    description: str = ""


@dataclass(frozen=True, slots=True)
class FlowDecl:
    """A flow with its definition text and schedules."""

    name: str
    definition: str
    description: str = ""
    role_arn: str = ""
    role: str = ""
    schedules: tuple[ScheduleDecl, ...] = ()


@dataclass(frozen=True, slots=True)
class DeployFile:
    """Everything one deploy file declares."""

    path: Path
    queues: tuple[QueueDecl, ...] = ()
    topics: tuple[TopicDecl, ...] = ()
    functions: tuple[FunctionDecl, ...] = ()
    flows: tuple[FlowDecl, ...] = ()
    ram: RamDecl = field(default_factory=RamDecl)
    services: tuple[ServiceDecl, ...] = ()


def _norm(key: object) -> str:
    return str(key).replace("_", "").replace("-", "").lower()


def _map(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DeployFileError(f"{where}: expected a mapping, got {type(value).__name__}")
    return {str(k): v for k, v in value.items()}


def _attrs(raw: dict[str, Any], known: Mapping[str, str], where: str, skip: set[str]) -> dict[str, int | bool]:
    out: dict[str, int | bool] = {}
    for key, value in raw.items():
        norm = _norm(key)
        if norm in skip:
            continue
        if norm not in known:
            raise DeployFileError(f"{where}: unknown attribute {key!r}")
        if norm == "loggingenabled":
            if not isinstance(value, bool):
                raise DeployFileError(f"{where}.{key}: expected true or false")
            out[known[norm]] = value
        elif isinstance(value, bool) or not isinstance(value, int):
            raise DeployFileError(f"{where}.{key}: expected an integer")
        else:
            out[known[norm]] = value
    return out


def _endpoint(value: Any, where: str) -> EndpointRef:
    if isinstance(value, str):
        return EndpointRef(url=value)
    ref = {_norm(k): v for k, v in _map(value, where).items()}
    if set(ref) == {"function"} and isinstance(ref["function"], str) and ref["function"].count("/") == 1:
        service, name = ref["function"].split("/")
        return EndpointRef(function=(service, name))
    if set(ref) == {"queue"} and isinstance(ref["queue"], str):
        return EndpointRef(queue=ref["queue"])
    raise DeployFileError(f"{where}: expected a URL, {{function: SERVICE/NAME}} or {{queue: NAME}}")


def _subscription(name: str, raw: dict[str, Any], where: str) -> SubscriptionDecl:
    fields = {_norm(k): v for k, v in raw.items()}
    unknown = set(fields) - {"endpoint", "notifystrategy", "notifycontentformat", "filtertag"}
    if unknown:
        raise DeployFileError(f"{where}: unknown keys {sorted(unknown)}")
    if "endpoint" not in fields:
        raise DeployFileError(f"{where}: 'endpoint' is required")
    for key in ("notifystrategy", "notifycontentformat", "filtertag"):
        if fields.get(key) is not None and not isinstance(fields[key], str):
            raise DeployFileError(f"{where}.{key}: expected a string")
    return SubscriptionDecl(
        name=name,
        endpoint=_endpoint(fields["endpoint"], f"{where}.endpoint"),
        notify_strategy=fields.get("notifystrategy"),
        notify_content_format=fields.get("notifycontentformat"),
        filter_tag=fields.get("filtertag"),
    )


def _function(key: str, raw: dict[str, Any], base: Path, where: str) -> FunctionDecl:
    if key.count("/") != 1:
        raise DeployFileError(f"{where}: functions are keyed SERVICE/NAME")
    service, name = key.split("/")
    fields = {_norm(k): v for k, v in raw.items()}
    names = {
        "code": "code_dir",
        "codedir": "code_dir",
        "handler": "handler",
        "kind": "kind",
        "timeout": "timeout",
        "memory": "memory",
        "memorysize": "memory",
        "env": "env",
        "environmentvariables": "env",
        "initializer": "initializer",
        "httptrigger": "http_trigger",
        "requirements": "requirements",
        "description": "description",
    }
    unknown = set(fields) - set(names)
    if unknown:
        raise DeployFileError(f"{where}: unknown keys {sorted(unknown)}")
    body = {names[k]: v for k, v in fields.items()}
    if not isinstance(body.get("code_dir"), str):
        raise DeployFileError(f"{where}: 'code' (the code folder) is required")
    body["code_dir"] = str((base / body["code_dir"]).resolve())
    trigger = body.get("http_trigger")
    if trigger is True:
        body["http_trigger"] = {"methods": []}
    elif trigger is False:
        body["http_trigger"] = None
    elif isinstance(trigger, dict):
        t = {_norm(k): v for k, v in trigger.items()}
        unknown = set(t) - {"methods", "authtype"}
        if unknown:
            raise DeployFileError(f"{where}.httpTrigger: unknown keys {sorted(unknown)}")
        body["http_trigger"] = {"methods": t.get("methods") or []}
        if "authtype" in t:
            if not isinstance(t["authtype"], str):
                raise DeployFileError(f"{where}.httpTrigger.authType: expected anonymous or function")
            body["http_trigger"]["auth_type"] = t["authtype"]
    if body.get("http_trigger") is not None and "kind" not in body:
        body["kind"] = "http"  # a trigger implies a WSGI function
    return FunctionDecl(service=service, name=name, body=body)


def _flow(name: str, raw: dict[str, Any], base: Path, where: str) -> FlowDecl:
    fields = {_norm(k): v for k, v in raw.items()}
    unknown = set(fields) - {"definition", "definitionfile", "description", "rolearn", "role", "schedules"}
    if unknown:
        raise DeployFileError(f"{where}: unknown keys {sorted(unknown)}")
    if fields.get("rolearn") and fields.get("role"):
        raise DeployFileError(f"{where}: give at most one of 'role' (a role name) and 'roleArn'")
    for key in ("rolearn", "role"):
        if fields.get(key) is not None and not isinstance(fields[key], str):
            raise DeployFileError(f"{where}.{key}: expected a string")
    if ("definition" in fields) == ("definitionfile" in fields):
        raise DeployFileError(f"{where}: give exactly one of 'definition' and 'definitionFile'")
    if "definitionfile" in fields:
        path = base / str(fields["definitionfile"])
        try:
            definition = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise DeployFileError(f"{where}.definitionFile: cannot read {path}: {exc}") from None
    elif isinstance(fields["definition"], str):
        definition = fields["definition"]
    else:  # an inline mapping: kept as YAML text, as the API takes it
        definition = yaml.safe_dump(fields["definition"], sort_keys=False, allow_unicode=True)
    schedules = []
    for sname, sraw in _map(fields.get("schedules"), f"{where}.schedules").items():
        s = {_norm(k): v for k, v in _map(sraw, f"{where}.schedules.{sname}").items()}
        if not isinstance(s.get("cron"), str):
            raise DeployFileError(f"{where}.schedules.{sname}: 'cron' is required")
        payload = s.get("payload")
        try:  # a JSON text, or a YAML mapping that must be what a JSON text could carry
            payload = (
                parse_json(payload, "the payload") if isinstance(payload, str) else check_value(payload, "the payload")
            )
        except JsonTextError as exc:
            raise DeployFileError(f"{where}.schedules.{sname}.payload: {exc.message}") from None
        if payload is not None and not isinstance(payload, dict):
            raise DeployFileError(f"{where}.schedules.{sname}.payload: expected a JSON object")
        schedules.append(
            ScheduleDecl(
                name=sname,
                cron=s["cron"],
                payload=payload,
                enable=bool(s.get("enable", True)),
                description=str(s.get("description") or ""),
            )
        )
    return FlowDecl(
        name=name,
        definition=definition,
        description=str(fields.get("description") or ""),
        role_arn=str(fields.get("rolearn") or ""),
        role=str(fields.get("role") or ""),
        schedules=tuple(schedules),
    )


def _service(name: str, raw: dict[str, Any], where: str) -> ServiceDecl:
    fields = {_norm(k): v for k, v in raw.items()}
    unknown = set(fields) - {"role", "description"}
    if unknown:
        raise DeployFileError(f"{where}: unknown keys {sorted(unknown)}")
    for key in ("role", "description"):
        if fields.get(key) is not None and not isinstance(fields[key], str):
            raise DeployFileError(f"{where}.{key}: expected a string")
    return ServiceDecl(name=name, role=fields.get("role") or "", description=fields.get("description") or "")


def load_deploy_file(path: Path) -> DeployFile:
    """Read and check a deploy file.

    Raises:
        DeployFileError: the file cannot be read or breaks the format (the message names the place).
    """
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DeployFileError(f"{path}: {exc}") from None
    top = _map(doc, str(path))
    unknown = set(top) - {"queues", "topics", "services", "functions", "flows", "ram"}
    if unknown:
        raise DeployFileError(f"{path}: unknown sections {sorted(unknown)}")
    base = path.resolve().parent
    queues = tuple(
        QueueDecl(n, _attrs(_map(v, f"queues.{n}"), _QUEUE_ATTRS, f"queues.{n}", set()))
        for n, v in _map(top.get("queues"), "queues").items()
    )
    topics = []
    for n, v in _map(top.get("topics"), "topics").items():
        raw = _map(v, f"topics.{n}")
        subs_raw = _map(next((x for k, x in raw.items() if _norm(k) == "subscriptions"), None), f"topics.{n}")
        subs = tuple(
            _subscription(s, _map(sv, f"topics.{n}.subscriptions.{s}"), f"topics.{n}.subscriptions.{s}")
            for s, sv in subs_raw.items()
        )
        topics.append(TopicDecl(n, _attrs(raw, _TOPIC_ATTRS, f"topics.{n}", {"subscriptions"}), subs))
    functions = tuple(
        _function(k, _map(v, f"functions.{k}"), base, f"functions.{k}")
        for k, v in _map(top.get("functions"), "functions").items()
    )
    flows = tuple(
        _flow(n, _map(v, f"flows.{n}"), base, f"flows.{n}") for n, v in _map(top.get("flows"), "flows").items()
    )
    ram = parse_ram(top.get("ram"), base)
    services = tuple(
        _service(n, _map(v, f"services.{n}"), f"services.{n}") for n, v in _map(top.get("services"), "services").items()
    )
    return DeployFile(
        path=path, queues=queues, topics=tuple(topics), functions=functions, flows=flows, ram=ram, services=services
    )
