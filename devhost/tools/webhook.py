"""A read-only client of a running app's Durable HTTP API (`/runtime/webhooks/durabletask`):
the instance listing, page by page, and one instance's status with its history.

The `durabletask_extension` system key travels in the `x-functions-key` header and a bearer
token (App Service Authentication) in `Authorization`; neither is ever put in a URL or a
message. Every answer but the expected one is an error that says what the host answered:
a listing or a history that cannot be read is never taken for an empty one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

from devhost.tls import shared_context

PATH = "/runtime/webhooks/durabletask"
CONTINUATION = "x-ms-continuation-token"
#: What a last page's token may be: none, or with the Azure Storage provider the base64 of
#: "null" (azure-functions-durable-extension issue #1174).
LAST_PAGE = {"", "null", "bnVsbA=="}
#: Answers worth asking again while the app starts (a deployment restarts it).
TRANSIENT = {502, 503, 504}
HINTS = {
    401: "the key (--key: the durabletask_extension system key) or, behind App Service "
    "Authentication, the token (--bearer or --azure-cli) was refused",
    403: "the key or the token is not allowed here",
    404: "no Durable HTTP API there: is the URL the app's, and the instance still there?",
}


class WebhookError(Exception):
    """The app could not be reached, or did not answer as the Durable HTTP API does."""


class Webhook:
    """The Durable HTTP API of the app at `url` (its base, e.g. https://app.azurewebsites.net)."""

    def __init__(
        self,
        url: str,
        key: str | None = None,
        bearer: str | None = None,
        *,
        retry_for: float = 0.0,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        base = url.rstrip("/")
        self.base = base.removesuffix(PATH)
        headers = {"Accept": "application/json"}
        if key:
            headers["x-functions-key"] = key
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        self.retry_for = retry_for
        self._options: dict[str, Any] = {
            "base_url": self.base + PATH,
            "headers": headers,
            "timeout": timeout,
            "follow_redirects": False,  # a sign-in redirect is a refusal, not a page to read
            "transport": transport,
            "verify": shared_context(),
        }
        self._local = threading.local()
        self._clients: list[httpx.Client] = []
        self._lock = threading.Lock()

    @property
    def client(self) -> httpx.Client:
        """This thread's own client and connection: httpx's pool, shared between threads,
        can close a socket one of them is still reading ([Errno 9] Bad file descriptor)."""
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = httpx.Client(**self._options)
            with self._lock:
                self._clients.append(client)
        return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients:
                client.close()
            self._clients.clear()

    def instances(
        self, statuses: list[str], prefix: str | None = None, page_size: int = 500
    ) -> Iterator[dict[str, Any]]:
        """Every instance in `statuses` (and under `prefix`), following the continuation token
        (HttpApiHandler's listing: `runtimeStatus`, `instanceIdPrefix`, `top`)."""
        params = {"runtimeStatus": ",".join(statuses), "top": str(page_size), "showInput": "false"}
        if prefix:
            params["instanceIdPrefix"] = prefix
        token: str | None = None
        seen: set[str] = set()
        while True:
            headers = {CONTINUATION: token} if token else {}
            answer = self._get("/instances", params, headers)
            page = _json(answer)
            if not isinstance(page, list):
                raise WebhookError(f"{self._where(answer)} did not answer a list of instances")
            yield from page
            token = answer.headers.get(CONTINUATION, "").strip()
            if token in LAST_PAGE:
                return
            if token in seen:
                raise WebhookError(f"{self._where(answer)} handed the same page token twice")
            seen.add(token)

    def history(self, instance_id: str) -> dict[str, Any]:
        """One instance's status with its whole history, inputs and results
        (HttpApiHandler.HandleGetStatusRequestAsync: 200 once finished, 202 while it runs)."""
        params = {"showHistory": "true", "showHistoryOutput": "true", "showInput": "true"}
        answer = self._get(f"/instances/{quote(instance_id, safe='')}", params, {}, (200, 202))
        status = _json(answer)
        if not isinstance(status, dict) or "runtimeStatus" not in status:
            raise WebhookError(f"{self._where(answer)} did not answer an instance status")
        return status

    def _get(
        self,
        path: str,
        params: dict[str, str],
        headers: dict[str, str],
        expected: tuple[int, ...] = (200,),
    ) -> httpx.Response:
        deadline = time.monotonic() + self.retry_for
        pause = 1.0
        while True:
            try:
                answer = self.client.get(path, params=params, headers=headers)
            except httpx.HTTPError as problem:
                if time.monotonic() + pause < deadline:
                    time.sleep(pause)
                    pause = min(pause * 2, 15.0)
                    continue
                where = self.base + PATH + path
                raise WebhookError(f"cannot reach {where}: {problem}") from None
            if answer.status_code in expected:
                return answer
            if answer.status_code in TRANSIENT and time.monotonic() + pause < deadline:
                time.sleep(pause)
                pause = min(pause * 2, 15.0)
                continue
            raise WebhookError(_refusal(answer, self._where(answer)))

    def _where(self, answer: httpx.Response) -> str:
        """The request, without its query (which holds no secret, but says nothing useful)."""
        return f"GET {answer.request.url.copy_with(query=None)}"


def _refusal(answer: httpx.Response, where: str) -> str:
    text = " ".join(answer.text.split())[:300] or "(no body)"
    hint = HINTS.get(answer.status_code)
    if 300 <= answer.status_code < 400:
        hint = f"redirected to {answer.headers.get('location')}: a sign-in page? pass --bearer"
    return f"{where} answered {answer.status_code}: {text}" + (f"\n  ({hint})" if hint else "")


def _json(answer: httpx.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        raise WebhookError(
            f"GET {answer.request.url.copy_with(query=None)} answered {answer.status_code} "
            f"with no JSON: {answer.text[:200]!r}"
        ) from None
