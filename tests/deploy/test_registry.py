"""The function registry on both stores: create / unchanged / update, read, list, delete, validation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tidegate.deploy import FunctionRecord, FunctionRegistry, InvalidFunction
from tidegate.store import open_store


@pytest.fixture
def registry(store_url: str) -> Iterator[FunctionRegistry]:
    store = open_store(store_url)
    try:
        yield FunctionRegistry(store.database)
    finally:
        store.close()


def _record(code: Path, **kw: object) -> FunctionRecord:
    return FunctionRecord(service="svc", name="fn", code_dir=str(code), **kw)  # type: ignore[arg-type]


def test_put_reports_created_unchanged_updated(registry: FunctionRegistry, tmp_path: Path) -> None:
    rec, result = registry.put(_record(tmp_path, env={"A": "1"}, requirements=("pkg==1",)))
    assert result == "created" and rec.env == {"A": "1"} and rec.requirements == ("pkg==1",)
    again, result = registry.put(_record(tmp_path, env={"A": "1"}, requirements=("pkg==1",)))
    assert result == "unchanged" and again.modified_ms == rec.modified_ms
    changed, result = registry.put(
        _record(tmp_path, kind="http", http_trigger=True, http_methods=("post",), timeout_s=2.5)
    )
    assert result == "updated"
    assert changed.http_methods == ("POST",) and changed.timeout_s == 2.5 and changed.env == {}
    assert changed.created_ms == rec.created_ms
    assert registry.get("svc", "fn") == changed


def test_list_get_delete(registry: FunctionRegistry, tmp_path: Path) -> None:
    for service, name in [("b", "x"), ("a", "y"), ("a", "x")]:
        registry.put(FunctionRecord(service=service, name=name, code_dir=str(tmp_path)))
    assert [(r.service, r.name) for r in registry.list_functions()] == [("a", "x"), ("a", "y"), ("b", "x")]
    assert [r.name for r in registry.list_functions("a")] == ["x", "y"]
    assert registry.delete("a", "x") and not registry.delete("a", "x")
    assert registry.get("a", "x") is None and registry.get("a", "y") is not None


def test_trigger_without_methods_allows_all(registry: FunctionRegistry, tmp_path: Path) -> None:
    rec, _ = registry.put(_record(tmp_path, kind="http", http_trigger=True))
    assert "GET" in rec.http_methods and "POST" in rec.http_methods


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"handler": "nodot"}, "handler"),
        ({"kind": "cron"}, "kind"),
        ({"timeout_s": 0}, "timeout"),
        ({"memory_mb": 1}, "memory"),
        ({"http_trigger": True}, "HTTP trigger"),
        ({"kind": "http", "http_trigger": True, "http_methods": ("FETCH",)}, "methods"),
        ({"requirements": ("--index-url=http://evil",)}, "requirement"),
        ({"env": {"A=B": "x"}}, "environment"),
    ],
)
def test_invalid_records_are_refused(
    registry: FunctionRegistry, tmp_path: Path, change: dict[str, object], needle: str
) -> None:
    with pytest.raises(InvalidFunction, match=needle):
        registry.put(_record(tmp_path, **change))
    assert registry.get("svc", "fn") is None


def test_names_and_code_dir_are_checked(registry: FunctionRegistry, tmp_path: Path) -> None:
    with pytest.raises(InvalidFunction, match="name"):
        registry.put(FunctionRecord(service="svc", name="../x", code_dir=str(tmp_path)))
    with pytest.raises(InvalidFunction, match="absolute"):
        registry.put(FunctionRecord(service="svc", name="f", code_dir="relative/dir"))
    with pytest.raises(InvalidFunction, match="not a folder"):
        registry.put(FunctionRecord(service="svc", name="f", code_dir=str(tmp_path / "missing")))
