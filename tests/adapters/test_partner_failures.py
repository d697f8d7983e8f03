"""A failed partner call is described by status, the partner's code and a short, redacted
message: never by the partner's body, which may echo our API key back."""

from __future__ import annotations

import pytest

from adapters.errors import PartnerError
from adapters.partners import failure, fraud
from tests.adapters.conftest import LocalServer, Recorded, Reply

KEY = "sk-live-4f9a2c7e1b8d6a3f5e0c9b7a"


def echo_headers(status: int, shape: str):
    """A partner that answers `status` and echoes every request header in its body."""

    def respond(request: Recorded) -> Reply:
        headers = dict(request.headers)
        lines = "\n".join(f"{name}: {value}" for name, value in headers.items())
        bodies = {
            "json-message": {"code": "BAD_INPUT", "message": f"rejected; you sent {headers}"},
            "json-nested": {"error": {"code": "E42", "message": lines}, "request": headers},
            "text": f"Bad request\n{lines}".encode(),
        }
        return Reply(status=status, body=bodies[shape])

    return respond


@pytest.mark.parametrize("shape", ["json-message", "json-nested", "text"])
@pytest.mark.parametrize("status", [400, 503])
def test_an_echoing_partner_never_gets_the_key_into_the_error(server: LocalServer, status, shape):
    server.respond = echo_headers(status, shape)
    with pytest.raises(PartnerError) as caught:
        fraud.HttpFraud(server.url, KEY).score({"claimId": "CLM-1"})
    assert server.requests[0].headers["x-api-key"] == KEY  # the key was sent, and echoed
    text = str(caught.value)
    assert KEY not in text and KEY[:12] not in text
    assert str(status) in text
    assert len(caught.value.message) <= 200


def test_the_partner_code_and_message_are_kept(server: LocalServer):
    server.respond = lambda request: Reply(
        status=422, body={"error": {"code": "PAYEE_UNKNOWN", "message": "No such payee"}}
    )
    with pytest.raises(PartnerError) as caught:
        fraud.HttpFraud(server.url, KEY).score({"claimId": "CLM-1"})
    assert caught.value.message == "POST /scores -> 422 PAYEE_UNKNOWN: No such payee"


@pytest.mark.parametrize(
    "text",
    ["authorization: Bearer abc.def", "api_key=hunter2", 'token "s3cr3t"', "x" * 30],
)
def test_credentials_and_opaque_tokens_are_blanked(text):
    cleaned = failure.redact(f"failed: {text} here")
    assert cleaned.startswith("failed: ") and failure.REDACTED in cleaned
    assert not any(secret in cleaned for secret in ("abc.def", "hunter2", "s3cr3t", "x" * 30))


def test_a_long_message_is_cut():
    assert len(failure.redact("word " * 100)) == failure.MAX_MESSAGE
