"""Secrets from the environment, then from a local HTTPS server speaking the Key Vault API."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.core.credentials import AccessToken
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from adapters import secrets
from adapters.errors import SecretError
from tests.adapters.conftest import LocalServer, Recorded, Reply

TENANT = "00000000-0000-0000-0000-00000000abcd"
CHALLENGE = (
    f'Bearer authorization="https://login.microsoftonline.com/{TENANT}", '
    'resource="https://vault.azure.net"'
)
TOKEN = "local-test-token"


class FakeCredential:
    """Stands in for DefaultAzureCredential; remembers what the SDK asked for."""

    def __init__(self) -> None:
        self.requests: list[tuple[tuple[str, ...], dict]] = []

    def get_token(self, *scopes: str, **kwargs) -> AccessToken:
        self.requests.append((scopes, kwargs))
        return AccessToken(TOKEN, int(time.time()) + 3600)


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "vault.pem", directory / "vault.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class LocalVault:
    """The slice of the Key Vault secrets REST API that `SecretClient.get_secret` uses."""

    def __init__(self, server: LocalServer, stored: dict[str, str]) -> None:
        self.server = server
        self.stored = stored
        self.status_override: int | None = None
        server.respond = self.respond

    def respond(self, request: Recorded) -> Reply:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Reply(401, {"error": {"code": "Unauthorized"}},
                         headers={"WWW-Authenticate": CHALLENGE})  # fmt: skip
        if self.status_override:
            return Reply(self.status_override, {"error": {"code": "Forbidden", "message": "no"}})
        name = request.path.removeprefix("/secrets/").split("/")[0]
        if request.method != "GET" or "api-version" not in request.query:
            return Reply(400, {"error": {"code": "BadParameter", "message": request.path}})
        if name not in self.stored:
            return Reply(404, {"error": {"code": "SecretNotFound", "message": name}})
        secret_id = f"{self.server.url}/secrets/{name}/0123456789abcdef"
        return Reply(200, {"value": self.stored[name], "id": secret_id,
                           "attributes": {"enabled": True}})  # fmt: skip

    def secret_reads(self, name: str) -> int:
        return sum(
            1
            for request in self.server.requests
            if request.path.rstrip("/") == f"/secrets/{name}" and "authorization" in request.headers
        )


@pytest.fixture
def credential(monkeypatch: pytest.MonkeyPatch) -> FakeCredential:
    fake = FakeCredential()
    monkeypatch.setattr(secrets, "credential_factory", lambda: fake)
    return fake


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, credential) -> Iterator[LocalVault]:
    cert_path, key_path = self_signed(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert_path, key_path)
    server = LocalServer(tls=tls)
    monkeypatch.setenv("KEY_VAULT_URL", server.url)
    monkeypatch.setattr(
        secrets,
        "client_options",
        {"connection_verify": str(cert_path), "verify_challenge_resource": False,
         "retry_total": 0},
    )  # fmt: skip
    yield LocalVault(server, {"payments-api-key": "vault-value"})
    server.close()


def test_environment_as_named(monkeypatch) -> None:
    monkeypatch.setenv("payments-api-key", "exact")
    assert secrets.get_secret("payments-api-key") == "exact"


def test_environment_upper_snake(monkeypatch) -> None:
    monkeypatch.setenv("PAYMENTS_API_KEY", "snake")
    assert secrets.get_secret("payments-api-key") == "snake"


def test_nothing_without_environment_or_vault() -> None:
    assert secrets.get_secret("payments-api-key") is None


def test_key_vault_after_the_challenge(vault: LocalVault, credential: FakeCredential) -> None:
    assert secrets.get_secret("payments-api-key") == "vault-value"
    first, second = vault.server.requests[:2]
    assert "authorization" not in first.headers
    assert second.headers["authorization"] == f"Bearer {TOKEN}"
    [(scopes, options)] = credential.requests
    assert scopes == ("https://vault.azure.net/.default",)
    assert options.get("tenant_id") == TENANT


def test_key_vault_answers_are_cached(vault: LocalVault) -> None:
    assert secrets.get_secret("payments-api-key") == "vault-value"
    assert secrets.get_secret("payments-api-key") == "vault-value"
    assert vault.secret_reads("payments-api-key") == 1
    secrets.clear_cache()
    assert secrets.get_secret("payments-api-key") == "vault-value"
    assert vault.secret_reads("payments-api-key") == 2


def test_missing_secret_is_none_and_cached(vault: LocalVault) -> None:
    assert secrets.get_secret("carriers-api-key") is None
    assert secrets.get_secret("carriers-api-key") is None
    assert vault.secret_reads("carriers-api-key") == 1


def test_environment_wins_over_the_vault(vault: LocalVault, monkeypatch) -> None:
    monkeypatch.setenv("PAYMENTS_API_KEY", "from-env")
    assert secrets.get_secret("payments-api-key") == "from-env"
    assert vault.server.requests == []


def test_vault_refusal_raises_and_is_not_cached(vault: LocalVault) -> None:
    vault.status_override = 403
    with pytest.raises(SecretError, match="payments-api-key"):
        secrets.get_secret("payments-api-key")
    vault.status_override = None
    assert secrets.get_secret("payments-api-key") == "vault-value"


def test_partner_client_takes_its_key_from_the_vault(vault: LocalVault, monkeypatch) -> None:
    from adapters.partners import payments

    monkeypatch.setenv("PAYMENTS_BASE_URL", "http://127.0.0.1:9")
    assert payments.client()._session.headers["x-api-key"] == "vault-value"
