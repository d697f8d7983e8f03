"""The HTTP plumbing every partner client shares: base URL, API key, timeouts, error mapping.

One place decides what a failed call means, so every activity sees the same PartnerError: retryable
for timeouts, connection failures, 408, 429 and 5xx; not retryable for any other 4xx. Clients do
not retry by themselves: the activity retry policies own that, and the Idempotency-Key header
makes a retried effect safe.

requests (50 ms of imports) is loaded by the first client built: a worker whose partners are all
simulated, as under devhost and in tests, never loads it, and neither does a cold start on Azure
before the first partner call.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar, Self
from urllib.parse import quote

from adapters import secrets, settings
from adapters.errors import PartnerError
from adapters.partners import failure

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
RETRYABLE_STATUS = frozenset({408, 429})


def segment(value: str) -> str:
    """`value` made safe to sit in one URL path segment."""
    return quote(str(value), safe="")


class HttpPartner:
    """Base of the `Http…` partner clients; subclasses set `partner` and call `_call`."""

    partner: ClassVar[str]

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
    ) -> None:
        import requests

        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        self._session.headers["Accept"] = "application/json"
        self._api_key = api_key
        if api_key:
            self._session.headers["x-api-key"] = api_key

    @classmethod
    def from_settings(cls) -> Self | None:
        """The client configured by `<PARTNER>_BASE_URL` and secret `<partner>-api-key`, or None
        when no base URL is set (the caller then uses the simulator)."""
        base_url = settings.get(f"{cls.partner.upper()}_BASE_URL")
        if base_url is None:
            return None
        return _shared(cls, base_url, secrets.get_secret(f"{cls.partner}-api-key"))

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """Send one request and return its decoded JSON body ({} when there is none)."""
        import requests  # loaded already: __init__ built the session

        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        url = f"{self.base_url}/{path.lstrip('/')}"
        try:
            response = self._session.request(
                method, url, json=json, params=params, headers=headers, timeout=self.timeout
            )
        except requests.Timeout:
            raise PartnerError(self.partner, f"{method} {path} timed out", True) from None
        except requests.RequestException as exc:
            reason = failure.redact(str(exc), [self._api_key])
            raise PartnerError(self.partner, f"{method} {path} failed: {reason}", True) from None
        if not response.ok:
            status = response.status_code
            retryable = status >= 500 or status in RETRYABLE_STATUS
            detail = failure.describe(response, [self._api_key])
            raise PartnerError(self.partner, f"{method} {path} -> {detail}", retryable)
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            message = f"{method} {path} answered {response.status_code} without JSON"
            raise PartnerError(self.partner, message, False) from None

    def close(self) -> None:
        self._session.close()


@functools.lru_cache(maxsize=64)
def _shared(cls: type[HttpPartner], base_url: str, api_key: str | None) -> Any:
    """One client per configuration, so its connection pool (and TLS sessions) are reused."""
    return cls(base_url, api_key)
