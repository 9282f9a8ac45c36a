"""The egress policy on its own: what it refuses when an endpoint is given and when a name is resolved."""

from __future__ import annotations

import re
import socket
import ssl
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tidegate.egress import EgressPolicy, EgressRefused, HostNotResolved, parse_entries


def hosts(table: dict[str, Sequence[str]]) -> EgressPolicy:
    """A default policy whose names resolve from ``table`` (a name not in it has no address)."""

    def resolve(host: str, port: int) -> Sequence[str]:
        if host not in table:
            raise HostNotResolved(f"{host} could not be resolved")
        return table[host]

    return EgressPolicy(resolver=resolve)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
        ("http://100.100.100.200/latest/meta-data/", "100.100.100.200 is a cloud metadata address"),
        ("http://[fd00:ec2::254]/", "fd00:ec2::254 is a cloud metadata address"),
        ("http://169.254.1.1:8080/", "169.254.1.1 is a link-local address"),
        ("http://[fe80::1%25eth0]/", "fe80::1 is a link-local address"),
        ("http://[::ffff:169.254.169.254]/", "169.254.169.254 is a cloud metadata address"),
        ("http://[64:ff9b::a9fe:a9fe]/", "169.254.169.254 is a cloud metadata address"),
        ("http://[2002:a9fe:a9fe::1]/", "169.254.169.254 is a cloud metadata address"),
        ("http://2852039166/", "169.254.169.254 is a cloud metadata address"),  # getaddrinfo reads it so
        ("http://0xa9fea9fe/", "169.254.169.254 is a cloud metadata address"),
        ("http://169.254.43518/", "169.254.169.254 is a cloud metadata address"),
        ("http://0.0.0.0:8787/", "0.0.0.0 is an unspecified address"),
        ("http://[::]/", ":: is the unspecified address"),
        ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
        ("http://255.255.255.255/", "255.255.255.255 is the broadcast address"),
        ("ftp://example.com/", "only http and https URLs are fetched"),
        ("http:///path", "the URL names no host"),
        ("http://example.com:0/", "port 0 cannot be connected to"),
        ("http://example.com:99999/", "the URL is not valid"),
    ],
)
def test_the_default_policy_refuses_metadata_and_link_local_endpoints(url: str, why: str) -> None:
    with pytest.raises(EgressRefused) as refused:
        EgressPolicy().check_url(url)
    assert refused.value.message == why


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8787/hook",  # loopback: local development
        "http://[::1]:9000/",
        "http://localhost/",
        "https://10.1.2.3/",
        "http://192.168.0.10/",
        "http://100.100.100.201/",  # next to Alibaba Cloud's metadata address, but not it
        "https://hooks.example.com/x?y=1",
        "http://metadata.tidegate.test/",  # a name is checked when it is resolved, not when it is given
    ],
)
def test_the_default_policy_allows_the_rest(url: str) -> None:
    EgressPolicy().check_url(url)


def test_every_address_of_a_name_is_checked_when_it_is_resolved() -> None:
    policy = hosts(
        {
            "metadata.tidegate.test": ["169.254.169.254"],
            "mixed.tidegate.test": ["192.0.2.10", "169.254.169.254"],
            "ok.tidegate.test": ["192.0.2.10", "2001:db8::1"],
            "mapped.tidegate.test": ["::ffff:100.100.100.200"],
        }
    )
    with pytest.raises(EgressRefused, match=re.escape("metadata.tidegate.test resolves to 169.254.169.254 is a cloud")):
        policy.resolve_and_check("metadata.tidegate.test", 80)
    with pytest.raises(EgressRefused, match=re.escape("mixed.tidegate.test resolves to 169.254.169.254")):
        policy.resolve_and_check("mixed.tidegate.test", 80)  # one bad address refuses the name
    with pytest.raises(EgressRefused, match=re.escape("100.100.100.200 is a cloud metadata address")):
        policy.resolve_and_check("mapped.tidegate.test", 80)
    assert policy.resolve_and_check("OK.tidegate.test.", 443) == ["192.0.2.10", "2001:db8::1"]
    assert policy.resolve_and_check("[::1]", 80) == ["::1"]  # a literal is not resolved
    with pytest.raises(HostNotResolved):
        policy.resolve_and_check("nowhere.tidegate.test", 80)


def test_the_system_resolver_resolves_localhost_to_loopback() -> None:
    assert set(EgressPolicy().resolve_and_check("localhost", 80)) <= {"127.0.0.1", "::1"}


def test_an_allow_list_allows_only_what_it_names_and_never_reopens_the_metadata_service() -> None:
    table = {
        "hooks.example.com": ["203.0.113.5"],
        "a.corp.example": ["10.1.2.3"],
        "elsewhere.example": ["198.51.100.1"],
        "half.example": ["10.9.9.9", "198.51.100.1"],
        "evil.example": ["169.254.169.254"],
        "localhost": ["127.0.0.1"],
    }
    policy = EgressPolicy.parse(
        "hooks.example.com, 10.0.0.0/8\n*.corp.example 169.254.0.0/16", resolver=lambda h, p: table[h]
    )
    policy.check_url("http://10.200.0.1/")
    policy.check_url("http://hooks.example.com/")
    for url, why in [
        ("http://127.0.0.1:8787/", "127.0.0.1 is not on the --egress-allow list"),  # loopback too, in this mode
        ("http://192.168.1.1/", "192.168.1.1 is not on the --egress-allow list"),
        ("http://169.254.169.254/", "169.254.169.254 is a cloud metadata address"),
        ("http://169.254.1.1/", "169.254.1.1 is a link-local address"),
    ]:
        with pytest.raises(EgressRefused) as refused:
            policy.check_url(url)
        assert refused.value.message == why
    assert policy.resolve_and_check("hooks.example.com", 443) == ["203.0.113.5"]  # by name
    assert policy.resolve_and_check("a.corp.example", 443) == ["10.1.2.3"]  # by *.suffix
    assert policy.resolve_and_check("half.example", 443) == ["10.9.9.9"]  # only its allowed address
    with pytest.raises(
        EgressRefused, match=re.escape("elsewhere.example resolves to no address on the --egress-allow list")
    ):
        policy.resolve_and_check("elsewhere.example", 443)
    with pytest.raises(EgressRefused, match="localhost resolves to no address on the --egress-allow list"):
        policy.resolve_and_check("localhost", 80)
    with pytest.raises(
        EgressRefused, match=re.escape("evil.example resolves to 169.254.169.254 is a cloud metadata address")
    ):
        policy.resolve_and_check("evil.example", 80)


def test_a_deny_list_adds_names_and_networks() -> None:
    policy = EgressPolicy.parse(deny="10.0.0.0/8, internal.example, 168.63.129.16", resolver=lambda h, p: ["10.0.0.7"])
    for url in ("http://10.3.3.3/", "http://internal.example/", "http://168.63.129.16/"):
        with pytest.raises(EgressRefused, match="--egress-deny"):
            policy.check_url(url)
    with pytest.raises(
        EgressRefused, match=re.escape("other.example resolves to 10.0.0.7 is on the --egress-deny list")
    ):
        policy.resolve_and_check("other.example", 80)
    policy.check_url("http://127.0.0.1/")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("10.0.0.1/8", "'10.0.0.1/8' is not a network: 10.0.0.1/8 has host bits set"),
        ("10.0.0.0/33", "'10.0.0.0/33' is not a network"),
        ("http://x.example/", "'http://x.example/' is neither a host name nor an address or network"),
        ("under_score.example", "is neither a host name"),
        ("-x.example", "is neither a host name"),
        ("2852039166", "write the address as 192.0.2.7"),
    ],
)
def test_entries_that_are_not_hosts_or_networks_are_refused(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match="--egress-allow entry") as err:
        EgressPolicy.parse(allow=text)
    assert problem in str(err.value)


def test_entries_are_normalised() -> None:
    entries = parse_entries(" Hooks.Example.COM. ,[::1] 192.0.2.7\t*.Corp.Example ")
    assert entries.names == frozenset({"hooks.example.com", "*.corp.example"})
    assert [str(n) for n in entries.networks] == ["::1/128", "192.0.2.7/32"]
    assert not parse_entries("  ,, ") and not parse_entries(None)


# --- the client connects only to the vetted addresses ---------------------------------------------------


@pytest.fixture
def listener() -> Iterator[tuple[int, list[str]]]:
    """An HTTP server on 127.0.0.1 that records the Host header of each request it gets."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers["host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv.server_address[1], seen
    srv.shutdown()
    srv.server_close()
    thread.join()


def test_the_client_connects_to_the_vetted_address_and_keeps_the_host_header(listener: tuple[int, list[str]]) -> None:
    port, seen = listener
    lookups: list[str] = []

    def resolve(host: str, p: int) -> Sequence[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    with EgressPolicy(resolver=resolve).client(timeout=5) as client:
        assert client.get(f"http://hooks.tidegate.test:{port}/x").status_code == 204
    assert seen == [f"hooks.tidegate.test:{port}"] and lookups == ["hooks.tidegate.test"]


def test_the_client_refuses_before_connecting(listener: tuple[int, list[str]]) -> None:
    port, seen = listener
    policy = EgressPolicy.parse(deny="127.0.0.0/8", resolver=lambda h, p: ["127.0.0.1"])
    with policy.client(timeout=5) as client:
        with pytest.raises(
            EgressRefused, match=re.escape("metadata.tidegate.test resolves to 127.0.0.1 is on the --egress-deny")
        ):
            client.get(f"http://metadata.tidegate.test:{port}/")
        with pytest.raises(EgressRefused, match=re.escape("127.0.0.1 is on the --egress-deny list")):
            client.get(f"http://127.0.0.1:{port}/")
    assert seen == []


def test_the_client_ignores_proxy_variables(listener: tuple[int, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    port, seen = listener
    monkeypatch.setenv("HTTP_PROXY", "http://169.254.169.254:3128")
    monkeypatch.setenv("ALL_PROXY", "http://169.254.169.254:3128")
    with EgressPolicy().client(timeout=5) as client:
        assert client.get(f"http://localhost:{port}/").status_code == 204
    assert seen == [f"localhost:{port}"]


def test_tls_verifies_the_name_not_the_address(listener: tuple[int, list[str]]) -> None:
    # A plain-HTTP listener answering a TLS handshake: the handshake fails as TLS, on the vetted address.
    port, _ = listener
    with EgressPolicy(resolver=lambda h, p: ["127.0.0.1"]).client(timeout=5) as client:
        with pytest.raises(httpx.ConnectError) as failed:
            client.get(f"https://hooks.tidegate.test:{port}/")
    causes = []
    exc: BaseException | None = failed.value
    while exc is not None:
        causes.append(exc)
        exc = exc.__cause__ or exc.__context__
    assert any(isinstance(c, ssl.SSLError) for c in causes)


def test_a_closed_port_is_a_connect_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with EgressPolicy().client(timeout=5) as client, pytest.raises(httpx.ConnectError):
        client.get(f"http://127.0.0.1:{port}/")
