"""``tidegate run --respond/--responses/--worker``: the answers of a flow's queue and topic task steps.

Every step an option names must be a queue or topic task step of the flow, and what it is given must fit
its pattern (a requestResponse step takes only a failure: its ``$local`` is the send's receipt). Anything
else is refused before the execution starts, never ignored.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import click
import yaml

from tidegate.cli._client import UsageFailure
from tidegate.cli.worker import load_handler
from tidegate.errors import ConfigurationError
from tidegate.flow.model import Flow, Pattern
from tidegate.integrations.local_mns import (
    Failure,
    LocalMns,
    LocalWorker,
    Reply,
    SentMessage,
    message_steps,
    reply_list,
)
from tidegate.jsontext import JsonTextError
from tidegate.jsontext import parse as parse_json

__all__ = ["build_local_mns", "echo_sent"]


def _split(text: str, option: str, what: str) -> tuple[str, str]:
    step, sep, value = text.partition("=")
    if not sep or not step:
        raise UsageFailure(f"{option} {text[:60]!r}: expected STEP={what}")
    return step, value


def _check_step(step: str, steps: dict[str, set[Pattern]], option: str) -> None:
    if step in steps:
        return
    known = ", ".join(sorted(steps)) or "none"
    raise UsageFailure(
        f"{option} names the step {step!r}, which is not a queue or topic task step of the flow (those are: {known})"
    )


def _respond(texts: Sequence[str]) -> dict[str, list[Reply]]:
    replies: dict[str, list[Reply]] = {}
    for text in texts:
        step, raw = _split(text, "--respond", "JSON")
        try:
            value = parse_json(raw, f"--respond {step}")
        except JsonTextError as exc:
            raise UsageFailure(exc.message) from None
        try:
            replies.setdefault(step, []).extend(reply_list(value, f"--respond {step}"))
        except ConfigurationError as exc:
            raise UsageFailure(exc.message) from None
    return replies


def _responses(path: Path) -> dict[str, list[Reply]]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageFailure(f"--responses {path}: {exc}") from None
    if not isinstance(doc, dict):
        raise UsageFailure(f"--responses {path}: expected a mapping of step names to replies")
    try:
        json.dumps(doc, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise UsageFailure(f"--responses {path}: the replies must be JSON values ({exc})") from None
    out: dict[str, list[Reply]] = {}
    for step, value in doc.items():
        try:
            out[str(step)] = reply_list(value, f"--responses {path}: {step}")
        except ConfigurationError as exc:
            raise UsageFailure(exc.message) from None
    return out


def build_local_mns(
    flow: Flow,
    respond: Sequence[str],
    responses_file: Path | None,
    worker_specs: Sequence[str],
    on_send: Callable[[SentMessage], None] | None,
) -> LocalMns:
    """Check the options against ``flow`` and build the integration that answers its message steps.

    Raises:
        UsageFailure: a malformed option, an unknown step, a conflict, or an answer that cannot apply.
    """
    steps = message_steps(flow)
    given = _respond(respond)
    sources = dict.fromkeys(given, "--respond")
    for step in given:
        _check_step(step, steps, "--respond")
    if responses_file is not None:
        for step, replies in _responses(responses_file).items():
            _check_step(step, steps, f"--responses {responses_file}")
            if step in given:
                raise UsageFailure(f"the step {step!r} is given both by --respond and by --responses")
            given[step] = replies
            sources[step] = f"--responses {responses_file}"
    for step, replies in given.items():
        if Pattern.WAIT_FOR_CALLBACK not in steps[step] and not all(isinstance(r, Failure) for r in replies):
            raise UsageFailure(
                f"{sources[step]}: the step {step!r} is a requestResponse step: its $local is the send's "
                'receipt {MessageId, MessageBodyMD5, RequestId}; only a failure {"error", "cause"} can be given'
            )
    per_step: dict[str, str] = {}
    default_spec: str | None = None
    for spec in worker_specs:  # every check first: nothing is imported for a command that is refused
        if "=" in spec:
            step, target = _split(spec, "--worker", "module:function")
            _check_step(step, steps, "--worker")
            if Pattern.WAIT_FOR_CALLBACK not in steps[step]:
                raise UsageFailure(f"--worker {step}=…: {step!r} is a requestResponse step; nothing reports it")
            if step in given or step in per_step:
                raise UsageFailure(f"the step {step!r} is given twice (--worker and {sources.get(step, '--worker')})")
            per_step[step] = target
        else:
            if default_spec is not None:
                raise UsageFailure("give one --worker module:function for all steps; name others --worker STEP=…")
            if not any(Pattern.WAIT_FOR_CALLBACK in p for p in steps.values()):
                raise UsageFailure("--worker: the flow has no waitForCallback task step on a queue or topic")
            default_spec = spec
    workers = {step: LocalWorker(load_handler(target), target) for step, target in per_step.items()}
    default = None if default_spec is None else LocalWorker(load_handler(default_spec), default_spec)
    return LocalMns(given, reply_sources=sources, workers=workers, default_worker=default, on_send=on_send)


def echo_sent(message: SentMessage) -> None:
    """``--verbose``: one line per message a step builds, and its body, on stderr."""
    click.echo(
        f"{message.step_name} (attempt {message.attempt}, {message.pattern}): {message.resource}\n  {message.body}",
        err=True,
    )
