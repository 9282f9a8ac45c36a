"""The server's push-signing identity: how topic notifications to HTTP endpoints are signed (docs/protocols.md).

MNS signs every push with RSA-SHA1 (PKCS#1 v1.5) over the MNS request string-to-sign and puts the base64
signature, without prefix, in ``Authorization``; ``x-mns-signing-cert-url`` carries the base64 of a URL
serving the X.509 certificate. tidegate makes its own RSA-2048 key and self-signed certificate on first
start, keeps them in the data folder and serves the certificate itself.

Verification follows the official sample endpoint (``aliyun-mns-python-sdk`` ``sample/topic/server.py``):
``x-mns-*`` headers as ``name:value`` strings, sorted, then the request-target. That sample reads
``content-md5``/``content-type``/``date`` with a *case-sensitive* membership test and only sees lower-case
``x-mns-`` names, so :func:`signed_push_headers` emits every header name in lower case.
"""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from tidegate.auth.signatures import Headers, format_http_date, lower_headers
from tidegate.errors import ConfigurationError

KEY_FILE = "push-key.pem"
CERT_FILE = "push-cert.pem"
CERT_VALIDITY_DAYS = 3650


@dataclass(frozen=True, slots=True)
class PushIdentity:
    """The private key that signs pushes and its certificate (PEM, as served to subscribers)."""

    private_key: rsa.RSAPrivateKey
    cert_pem: bytes


def push_string_to_sign(method: str, path: str, headers: Headers) -> str:
    """Return the push StringToSign exactly as the official sample endpoint rebuilds it.

    ``METHOD\\ncontent-md5\\ncontent-type\\ndate\\n`` + sorted ``x-mns-name:value`` lines + ``\\n`` + path;
    the same bytes as the request layout whenever at least one ``x-mns-`` header is present (always, for a
    push).
    """
    h = lower_headers(headers)
    mns = "\n".join(sorted(f"{k}:{v}" for k, v in h.items() if k.startswith("x-mns-")))
    fixed = "\n".join(h.get(k, "") for k in ("content-md5", "content-type", "date"))
    return f"{method}\n{fixed}\n{mns}\n{path}"


def sign_push(identity: PushIdentity, method: str, path: str, headers: Headers) -> str:
    """Return the base64 RSA-SHA1 PKCS#1 v1.5 signature for ``Authorization`` (no prefix)."""
    data = push_string_to_sign(method, path, headers).encode("utf-8")
    sig = identity.private_key.sign(data, padding.PKCS1v15(), hashes.SHA1())
    return base64.b64encode(sig).decode("ascii")


def verify_push(cert_pem: bytes | str, method: str, path: str, headers: Headers, signature: str) -> bool:
    """Verify a push signature with the signer's certificate (PEM), as a subscriber does."""
    pem = cert_pem.encode("ascii") if isinstance(cert_pem, str) else cert_pem
    try:
        sig = base64.b64decode(signature, validate=True)
        public_key = x509.load_pem_x509_certificate(pem).public_key()
    except ValueError:
        return False
    if not isinstance(public_key, rsa.RSAPublicKey):
        return False
    data = push_string_to_sign(method, path, headers).encode("utf-8")
    try:
        public_key.verify(sig, data, padding.PKCS1v15(), hashes.SHA1())
    except InvalidSignature:
        return False
    return True


def signed_push_headers(
    identity: PushIdentity,
    path: str,
    body: bytes,
    content_type: str,
    cert_url: str,
    mns_headers: Mapping[str, str],
    now: float,
) -> list[tuple[str, str]]:
    """Return the complete, signed header list of one push request (names in lower case).

    Args:
        identity: the server's signing identity.
        path: the request-target sent to the endpoint (path and query of its URL).
        body: the notification body.
        content_type: ``text/xml;charset=utf-8``, ``application/json`` or ``text/plain;charset=utf-8``.
        cert_url: where the certificate is served (sent base64-encoded in ``x-mns-signing-cert-url``).
        mns_headers: the other ``x-mns-*`` headers (request id, topic owner/name, subscriber, …).
        now: current time, epoch seconds (for ``date``).
    """
    headers = [
        ("content-md5", hashlib.md5(body).hexdigest().upper()),
        ("content-type", content_type),
        ("date", format_http_date(now)),
        ("x-mns-version", "2015-06-06"),
        ("x-mns-signing-cert-url", base64.b64encode(cert_url.encode("utf-8")).decode("ascii")),
    ]
    headers += [(k.lower(), v) for k, v in mns_headers.items() if k.lower() not in dict(headers)]
    headers.append(("authorization", sign_push(identity, "POST", path, headers)))
    return headers


def _new_identity() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tidegate"),
            x509.NameAttribute(NameOID.COMMON_NAME, "tidegate mns notify"),
        ]
    )
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=CERT_VALIDITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_or_create_push_identity(data_dir: Path) -> PushIdentity:
    """Load ``push-key.pem`` + ``push-cert.pem`` from ``data_dir``, creating both on first use.

    Raises:
        ConfigurationError: the files exist but do not hold an RSA key and its certificate.
    """
    key_path, cert_path = data_dir / KEY_FILE, data_dir / CERT_FILE
    if not key_path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # Several server processes may share a data folder: one creates, the others wait and load.
        with open(data_dir / ".push-identity.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not key_path.exists():
                key, cert_pem = _new_identity()
                pem = key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                # Certificate first: a reader that sees the key file always finds its certificate.
                _write_private(cert_path, cert_pem)
                _write_private(key_path, pem)
    try:
        loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        cert_pem = cert_path.read_bytes()
        cert_key = x509.load_pem_x509_certificate(cert_pem).public_key()
    except (ValueError, OSError) as e:
        raise ConfigurationError(f"cannot load the push identity in {data_dir}: {e}") from None
    if (
        not isinstance(loaded, rsa.RSAPrivateKey)
        or not isinstance(cert_key, rsa.RSAPublicKey)
        or cert_key.public_numbers() != loaded.public_key().public_numbers()
    ):
        raise ConfigurationError(f"{key_path} and {cert_path} are not an RSA key and its certificate")
    return PushIdentity(loaded, cert_pem)
