"""The Dockerfile and compose.yaml refer only to what exists: files, options, ports, paths, variables.

No container runtime is needed: the files are read as a container tool reads them, and what they name is
checked against the repository and the server's own command (tests/packaging/test_wheel.py runs the image's
command and the compose nodes' commands outside a container).
"""

from __future__ import annotations

import tomllib

import click
import pytest

from tests.conftest import REPO
from tests.packaging import specs
from tidegate.auth.keys import ENV_ACCOUNT, ENV_ID, ENV_SECRET
from tidegate.cli.server import ENV_REGION, server_command
from tidegate.urls import PUBLIC_URL_ENV

#: The variables `tidegate server` reads, and the PostgreSQL client library's password variable.
SERVER_ENV = {ENV_ID, ENV_SECRET, ENV_ACCOUNT, ENV_REGION, PUBLIC_URL_ENV}
LIBPQ_ENV = {"PGPASSWORD"}


def _server_options() -> set[str]:
    return {opt for p in server_command.params if isinstance(p, click.Option) for opt in p.opts}


def _option(args: list[str], name: str) -> str:
    assert args.count(name) == 1, (name, args)
    return args[args.index(name) + 1]


def _image_command() -> list[str]:
    final = specs.final_stage(specs.dockerfile())
    return specs.one(final, "ENTRYPOINT").exec_form() + specs.one(final, "CMD").exec_form()


def test_every_copied_file_exists_and_is_in_the_build_context() -> None:
    copies = [i for i in specs.dockerfile() if i.keyword == "COPY"]
    assert copies
    sources = []
    for copy in copies:
        flags, words = copy.flags_and_words()
        if "from" in flags:
            continue  # from another stage, checked below
        sources += words[:-1]
    assert sources
    for source in sources:
        assert (REPO / source).exists(), f"COPY {source}: not in the repository"
        assert not specs.ignored(source.rstrip("/")), f"COPY {source}: left out by .dockerignore"
    # The wheel build needs what pyproject.toml names: the package folder and the readme.
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["readme"] in sources
    assert {"pyproject.toml", "src", "requirements.lock"} <= {s.rstrip("/").removeprefix("./") for s in sources}
    assert not specs.ignored("src/tidegate/store/migrations/sqlite/0001_workflows.sql")


def test_the_build_context_leaves_out_local_state() -> None:
    for path in (".venv", ".venvs/fnftea", ".tidegate/root-key.json", ".git", "tests/data", "src/tidegate/__pycache__"):
        assert specs.ignored(path), path
    for path in ("src/tidegate/cli/server.py", "src/tidegate/console/static", "pyproject.toml"):
        assert not specs.ignored(path), path


def test_copy_from_names_an_earlier_stage() -> None:
    instructions = specs.dockerfile()
    stages = {i.args.split()[-1] for i in instructions if i.keyword == "FROM" and " AS " in f" {i.args.upper()} "}
    for copy in (i for i in instructions if i.keyword == "COPY"):
        flags, _ = copy.flags_and_words()
        if "from" in flags:
            assert flags["from"] in stages, copy


def test_the_image_runs_the_server_as_a_non_root_user_on_the_data_volume() -> None:
    final = specs.final_stage(specs.dockerfile())
    user = specs.one(final, "USER").args
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, user  # numeric: Kubernetes' runAsNonRoot can check it
    command = _image_command()
    assert command[:2] == ["tidegate", "server"]
    assert set(a for a in command[2:] if a.startswith("--")) <= _server_options()
    assert _option(command, "--host") == "0.0.0.0"
    data = _option(command, "--data")
    assert specs.one(final, "VOLUME").exec_form() == [data]
    install = next(i.args for i in final if i.keyword == "RUN" and "pip install" in i.args)
    assert "[postgres]" in install and "--constraint /tmp/requirements.lock" in install
    assert f"useradd --system --user-group --uid {uid}" in " ".join(i.args for i in final if i.keyword == "RUN")


def test_the_port_the_server_listens_on_is_exposed_and_health_checked() -> None:
    final = specs.final_stage(specs.dockerfile())
    port = _option(_image_command(), "--port")
    assert specs.one(final, "EXPOSE").args == port
    healthcheck = specs.one(final, "HEALTHCHECK")
    flags, _ = healthcheck.flags_and_words()
    check = specs.healthcheck_command(healthcheck)
    assert f"http://127.0.0.1:{port}/healthz" in check[-1]
    assert {"interval", "timeout", "start-period", "retries"} <= set(flags)


def test_compose_nodes_share_one_store_key_region_and_account() -> None:
    data = specs.compose()
    nodes = specs.tidegate_services(data)
    assert len(nodes) == 2, sorted(nodes)
    node1, node2 = (nodes[name] for name in sorted(nodes))
    # One definition for both (the YAML anchor): the same command and the same environment.
    assert node1["command"] == node2["command"]
    assert node1["environment"] == node2["environment"]
    command = node1["command"]
    assert command[0] == "server" and set(a for a in command if a.startswith("--")) <= _server_options()
    store = _option(command, "--store")
    assert store.startswith("postgresql://")
    db_host = store.split("@", 1)[1].split(":", 1)[0].split("/", 1)[0]
    assert db_host in data["services"] and "postgres" in data["services"][db_host]["image"]
    assert node1["depends_on"][db_host]["condition"] == "service_healthy"
    assert "healthcheck" in data["services"][db_host]
    env = node1["environment"]
    assert set(env) <= SERVER_ENV | LIBPQ_ENV, set(env) - SERVER_ENV - LIBPQ_ENV
    assert {ENV_ID, ENV_SECRET, ENV_REGION, ENV_ACCOUNT} <= set(env)
    # The key has no default: every node must be given the same one.
    for name in (ENV_ID, ENV_SECRET):
        with pytest.raises(AssertionError, match=f"compose needs {name}"):
            specs.interpolate(env[name], {})


def test_compose_nodes_have_their_own_data_and_ports_on_the_image_port() -> None:
    data = specs.compose()
    nodes = specs.tidegate_services(data)
    port = _option(_image_command(), "--port")
    host_ports = []
    volumes = []
    for node in nodes.values():
        assert _option(node["command"], "--port") == port
        (mapping,) = node["ports"]
        host, container = mapping.split(":")
        assert container == port
        host_ports.append(host)
        data_dir = _option(node["command"], "--data")
        (volume,) = [v.split(":")[0] for v in node["volumes"] if v.split(":")[1] == data_dir]
        volumes.append(volume)
        assert volume in data["volumes"]
        for mount in node["volumes"]:
            source = mount.split(":")[0]
            if source.startswith("./"):
                assert (REPO / source).is_dir(), mount
    assert len(set(host_ports)) == len(nodes) and len(set(volumes)) == len(nodes)
    # Function code is mounted at the same path on every node (deployed functions name an absolute path).
    code = [sorted(v for v in node["volumes"] if not v.startswith(tuple(volumes))) for node in nodes.values()]
    assert code[0] == code[1] and code[0]
