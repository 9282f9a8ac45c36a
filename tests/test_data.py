"""The vendored test data is complete: the corpus and capture tests never run on a partial copy."""

from __future__ import annotations

import re

from tests.auth.captures import load_captures
from tests.conftest import CAPTURED_REQUESTS, CAPTURES, CORPUS, CORPUS_FLOWS
from tests.flow.helpers import corpus_files


def test_corpus_holds_every_flow_of_its_index() -> None:
    names = {p.name for p in corpus_files()}
    listed = set(re.findall(r"^\| \d+ \| `([^`]+\.yaml)`", (CORPUS / "INDEX.md").read_text(encoding="utf-8"), re.M))
    assert len(names) == CORPUS_FLOWS
    assert names == listed


def test_captures_hold_every_sdk_and_request() -> None:
    caps = load_captures()
    assert len(caps) == CAPTURED_REQUESTS
    assert {c.scheme for c in caps} == {"MNS", "RPC", "ACS3"}
    folders = {p.name for p in CAPTURES.iterdir() if p.is_dir()}
    assert folders == {
        "extras",
        "fnf-aliyunsdkcore",
        "fnf-alibabacloud-fnf20190315",
        "mns-aliyun-mns-1.1.5",
        "mns-aliyun-mns-sdk-1.3.0",
    }


def test_each_data_set_states_its_provenance_and_license() -> None:
    for folder in (CORPUS, CAPTURES):
        text = (folder / "README.md").read_text(encoding="utf-8")
        assert "**License.**" in text
    assert "**Provenance.**" in (CORPUS / "README.md").read_text(encoding="utf-8")
    assert "testAccessKeySecret" in (CAPTURES / "README.md").read_text(encoding="utf-8")
