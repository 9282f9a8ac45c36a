"""A real HTTP subscriber for push tests, verifying signatures the way the official sample endpoint does.

``aliyun-mns-python-sdk`` ``sample/topic/server.py``: fetch the certificate from the base64-decoded
``x-mns-signing-cert-url``, rebuild ``METHOD\\ncontent-md5\\ncontent-type\\ndate\\n`` + sorted
``x-mns-name:value`` lines + ``\\n`` + path, and check the base64 ``Authorization`` with RSA PKCS#1 v1.5
SHA-1. Written independently of ``tidegate.auth.push`` so the test does not check the code with itself.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


@dataclass
class Received:
    """One push as the subscriber saw it."""

    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool


def verify_like_sample(method: str, path: str, headers: dict[str, str], cert_pem: bytes | None = None) -> bool:
    """Verify a push signature as the official sample endpoint does (``cert_pem`` skips the download)."""
    if cert_pem is None:
        cert_url = base64.b64decode(headers["x-mns-signing-cert-url"]).decode()
        cert_pem = httpx.get(cert_url, timeout=5).content
    cert = x509.load_pem_x509_certificate(cert_pem)
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    service = "\n".join(sorted(f"{k}:{v}" for k, v in headers.items() if k.startswith("x-mns-")))
    fixed = [method] + [headers.get(k, "") for k in ("content-md5", "content-type", "date")]
    text = "\n".join(fixed) + "\n" + service + "\n" + path
    try:
        key.verify(base64.b64decode(headers["authorization"]), text.encode(), padding.PKCS1v15(), hashes.SHA1())
    except InvalidSignature:
        return False
    return True


@dataclass
class Subscriber:
    """Records pushes; answers ``fail_first[path]`` times 500 before answering 201."""

    fail_first: dict[str, int] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    cert_pem: bytes | None = None

    def start(self) -> str:
        """Start serving; return the base URL."""
        sub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with sub.lock:
                    n = sub.attempts.get(self.path, 0) + 1
                    sub.attempts[self.path] = n
                if n <= sub.fail_first.get(self.path, 0):
                    self.send_response(500)
                    self.end_headers()
                    return
                ok = verify_like_sample("POST", self.path, headers, sub.cert_pem)
                with sub.lock:
                    sub.received.append(Received(self.path, headers, body, ok))
                self.send_response(201)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()

    def at(self, path: str) -> list[Received]:
        """Return the pushes received on ``path``."""
        with self.lock:
            return [r for r in self.received if r.path == path]


def serving(fail_first: dict[str, int] | None = None) -> Iterator[tuple[Subscriber, str]]:
    """A started subscriber and its base URL, stopped afterwards (for a fixture: ``yield from serving(...)``)."""
    sub = Subscriber(fail_first=fail_first or {})
    url = sub.start()
    yield sub, url
    sub.stop()
