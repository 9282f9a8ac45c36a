"""Push signing (docs/protocols.md): our identity signs, the certificate verifies, the public vector verifies."""

from __future__ import annotations

import base64
import hashlib
import stat
from pathlib import Path

from cryptography import x509

from tidegate.auth.push import (
    load_or_create_push_identity,
    push_string_to_sign,
    sign_push,
    signed_push_headers,
    verify_push,
)

# Public test vector (a Rust test in the public code index; Alibaba's 512-bit "notify" certificate),
# see tests/data/captures/push_signature_vector_check.txt.
VECTOR_CERT = """-----BEGIN CERTIFICATE-----
MIICiDCCAjKgAwIBAgIJAL+acWZrTrlfMA0GCSqGSIb3DQEBBQUAMGMxCzAJBgNV
BAYTAjg2MREwDwYDVQQIEwhaaGVqaWFuZzERMA8GA1UEBxMISGFuZ3pob3UxDzAN
BgNVBAoTBkFsaXl1bjEMMAoGA1UECxMDTW5zMQ8wDQYDVQQDEwZub3RpZnkwHhcN
MTUwNzAyMDIwNjE2WhcNMTYwNzAxMDIwNjE2WjBjMQswCQYDVQQGEwI4NjERMA8G
A1UECBMIWmhlamlhbmcxETAPBgNVBAcTCEhhbmd6aG91MQ8wDQYDVQQKEwZBbGl5
dW4xDDAKBgNVBAsTA01uczEPMA0GA1UEAxMGbm90aWZ5MFwwDQYJKoZIhvcNAQEB
BQADSwAwSAJBALX0sFVowct1NAQjDyYSUf0rp1rOHLkz4kp0zNWcDyXMXa5PzsPU
UwJXaLwhvNCDLLWuiLK6Oh5elmOmL8Gy/5MCAwEAAaOByDCBxTAdBgNVHQ4EFgQU
kEah2o9HpCUCxhN/fY3kUtPkP4owgZUGA1UdIwSBjTCBioAUkEah2o9HpCUCxhN/
fY3kUtPkP4qhZ6RlMGMxCzAJBgNVBAYTAjg2MREwDwYDVQQIEwhaaGVqaWFuZzER
MA8GA1UEBxMISGFuZ3pob3UxDzANBgNVBAoTBkFsaXl1bjEMMAoGA1UECxMDTW5z
MQ8wDQYDVQQDEwZub3RpZnmCCQC/mnFma065XzAMBgNVHRMEBTADAQH/MA0GCSqG
SIb3DQEBBQUAA0EAluPg+k0Fc7WRcpP78+eLptYD8an7YOapUdNUmT2/SQC5BZ+t
cyWFit5pAEipngFL105d7AuW2AtwqG0FgV0ipw==
-----END CERTIFICATE-----
"""
VECTOR_HEADERS = [
    ("Content-MD5", "4CCBAD7AF2D23C2D00DDECCA59323A8C"),
    ("Content-Type", "text/plain;charset=utf-8"),
    ("Date", "Wed, 29 Mar 2023 08:41:27 GMT"),
    ("x-mns-message-id", "250EB49D5F8D737A391C93C6ED165396"),
    ("x-mns-publish-time", "1680079287576"),
    ("x-mns-request-id", "6423F9B7BF94313030AF5EA0"),
    (
        "x-mns-signing-cert-url",
        "aHR0cHM6Ly9tbnN0ZXN0Lm9zcy1jbi1oYW5nemhvdS5hbGl5dW5jcy5jb20veDUwOV9wdWJsaWNfY2VydGlmaWNhdGUucGVt",
    ),
    ("x-mns-subscriber", "1321669497458181"),
    ("x-mns-subscription-name", "mns-en-subs-oss-fecdn-internal-pre-1-22849529855680"),
    ("x-mns-topic-name", "mns-en-topics-oss-fecdn-internal-pre-22849529792243"),
    ("x-mns-topic-owner", "1321669497458181"),
    ("x-mns-version", "2015-06-06"),
]
VECTOR_SIG = "LP3cxoTCbhsiLJi0KQdEiRaufaxMfWUdLH064yoVoKl8xNcY+299itGmGsirVMY8vDpuZ1VwS0Uw7R5dNduSXg=="


def test_public_vector_verifies() -> None:
    assert verify_push(VECTOR_CERT, "POST", "/notifications", VECTOR_HEADERS, VECTOR_SIG)
    tampered = [(k, "1680079287577" if k == "x-mns-publish-time" else v) for k, v in VECTOR_HEADERS]
    assert not verify_push(VECTOR_CERT, "POST", "/notifications", tampered, VECTOR_SIG)
    assert not verify_push(VECTOR_CERT, "POST", "/notifications2", VECTOR_HEADERS, VECTOR_SIG)
    assert not verify_push(VECTOR_CERT, "POST", "/notifications", VECTOR_HEADERS, "not base64!")


def test_string_to_sign_layout() -> None:
    sts = push_string_to_sign("POST", "/notifications", VECTOR_HEADERS)
    assert sts.startswith("POST\n4CCBAD7AF2D23C2D00DDECCA59323A8C\ntext/plain;charset=utf-8\nWed, 29 Mar")
    assert sts.endswith("x-mns-version:2015-06-06\n/notifications")


def test_identity_created_once_and_kept(tmp_path: Path) -> None:
    ident = load_or_create_push_identity(tmp_path)
    assert stat.S_IMODE((tmp_path / "push-key.pem").stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(ident.cert_pem)
    assert ident.private_key.key_size == 2048
    assert cert.public_key().public_numbers() == ident.private_key.public_key().public_numbers()  # type: ignore[union-attr]
    again = load_or_create_push_identity(tmp_path)
    assert again.cert_pem == ident.cert_pem


def test_sign_then_verify_with_served_cert(tmp_path: Path) -> None:
    ident = load_or_create_push_identity(tmp_path)
    body = b'{"Message": "hi"}'
    headers = signed_push_headers(
        ident,
        "/notify?x=1",
        body,
        "application/json",
        "http://127.0.0.1:8787/mns/cert.pem",
        {"x-mns-request-id": "R1", "X-MNS-Topic-Name": "t", "x-mns-message-id": "M1"},
        1_795_000_000.0,
    )
    names = [k for k, _ in headers]
    assert names == [n.lower() for n in names]  # the sample endpoint needs lower-case names
    h = dict(headers)
    assert base64.b64decode(h["x-mns-signing-cert-url"]) == b"http://127.0.0.1:8787/mns/cert.pem"
    assert h["content-md5"] == hashlib.md5(body).hexdigest().upper()
    sig = h.pop("authorization")
    assert verify_push(ident.cert_pem, "POST", "/notify?x=1", h, sig)
    assert sign_push(ident, "POST", "/notify?x=1", h) == sig  # PKCS#1 v1.5 is deterministic
    assert not verify_push(ident.cert_pem, "POST", "/notify?x=1", {**h, "x-mns-topic-name": "u"}, sig)
    assert not verify_push(ident.cert_pem, "POST", "/notify", h, sig)
    assert not verify_push(VECTOR_CERT, "POST", "/notify?x=1", h, sig)
