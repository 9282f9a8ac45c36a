"""Every flow of the corpus (tests/data/fdl-corpus) loads, after the placeholder substitution its INDEX.md describes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.flow.helpers import CORPUS, corpus_files, substitute
from tidegate.errors import FlowValidationError
from tidegate.flow import ChoiceStep, ResourceKind, TaskStep, iter_steps, load_flow, parse_condition


def test_corpus_is_present() -> None:
    assert len(corpus_files()) == 37


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_corpus_flow_loads(path: Path) -> None:
    flow = load_flow(substitute(path.read_text(encoding="utf-8")), source=path.name)
    assert flow.version in ("v1", "v1beta1")
    assert sorted(map(id, flow.steps_by_path.values())) == sorted(map(id, iter_steps(flow.steps)))
    assert all(flow.steps_by_path[s.path] is s for s in iter_steps(flow.steps))


def test_ref_tags_expand_to_function_arns() -> None:
    text = (CORPUS / "awesome-fnf__trip-booking-order-processing__flows__tripOrderProcessing.flow.yaml").read_text()
    flow = load_flow(text)
    task = flow.steps[0]
    assert isinstance(task, TaskStep)
    assert task.resource.kind is ResourceKind.FUNCTION
    assert task.resource.text == "acs:fc:::services/tripOrderProcessingService/functions/bookTrainTicket"
    assert (task.resource.service, task.resource.name) == ("tripOrderProcessingService", "bookTrainTicket")


def test_all_corpus_conditions_parse_and_the_loader_keeps_them() -> None:
    texts = []
    for path in corpus_files():
        for m in re.finditer(r"condition: (.*)", path.read_text(encoding="utf-8")):
            texts.append(re.split(r"\s+#", m.group(1))[0].strip())
    assert len(texts) == 32
    for text in texts:
        assert parse_condition(text).text == text
    loaded = [
        b.condition.text
        for p in corpus_files()
        for s in iter_steps(load_flow(substitute(p.read_text(encoding="utf-8"))).steps)
        if isinstance(s, ChoiceStep)
        for b in s.choices
    ]
    assert sorted(loaded) == sorted(texts)


def test_placeholders_must_be_substituted() -> None:
    # Without substitution the ROS variables make the ARN invalid: the harness, not the loader, fills them.
    text = (CORPUS / "aliyun__ros-templates__transform__serverless__flow__MyFlow.yaml").read_text()
    with pytest.raises(FlowValidationError, match="not a valid resource ARN"):
        load_flow(text)
    task = load_flow(substitute(text)).steps[0]
    assert isinstance(task, TaskStep)
    assert (task.resource.region, task.resource.account, task.resource.qualifier) == (
        "cn-hangzhou",
        "1234567890",
        "LATEST",
    )
