"""The Durable extension's built-in HTTP activity, run in the host as the extension runs it:
TaskHttpActivityShim.RunAsync over the one HttpClient DurableHttpClientFactory makes
(azure-functions-durable-extension 2.13.7, 2024-10-23).

What the target sees: the request's method, uri, headers and content, the client's User-Agent,
and for a token source `Authorization: Bearer <token>` from DefaultAzureCredential
(ManagedIdentityTokenSource.GetTokenAsync), azure-identity's here: a managed identity's endpoint
where one is set (IDENTITY_ENDPOINT), else the signed-in Azure CLI and the rest of its chain.
Content goes as UTF-8 under the Content-Type the headers name (text/plain if none, exactly as
named: a parameter such as `; charset=` is refused, as MediaTypeHeaderValue refuses it); other
content headers cannot be set and multipart is refused, as the shim does.

What the orchestrator sees: every answer, whatever its status, as a DurableHttpResponse
(devhost/durable/http_activity.py), redirects followed and bodies not decompressed
(HttpClientHandler's defaults). A failure to send is the shim's TaskFailureException with the
HttpRequestException's message ("Connection refused (host:port)", as .NET words it on Linux,
where Python apps run). The client's 240-second timeout, and anything thrown before the request
is sent (no token, a refused header, a relative uri), escape the shim and fail the task with
their own message (DurableTask TaskActivityDispatcher).
"""

from __future__ import annotations

import codecs
import logging
import os
import re
import socket
from urllib.parse import urlsplit

import aiohttp
from multidict import CIMultiDict

from devhost.durable import failures
from devhost.durable.decisions import Outcome
from devhost.durable.http_activity import (
    CONTENT_HEADERS,
    HttpRequest,
    read_request,
    response_result,
)

log = logging.getLogger("devhost")

CLIENT_TIMEOUT = 240.0  # DurableHttpClientFactory.GetClient: HttpClient.Timeout
USER_AGENT = "Microsoft.Azure.WebJobs.Extensions.DurableTask/2.13.7"
MAX_REDIRECTS = 50  # HttpClientHandler.MaxAutomaticRedirections
#: aiohttp adds these by itself; HttpClient adds none of them (User-Agent is set below).
NOT_ADDED = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_MEDIA_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}")
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
DURABLE = "Microsoft.Azure.WebJobs.Extensions.DurableTask"


class _Escaped(Exception):
    """An exception TaskHttpActivityShim does not catch; DurableTask fails the task with it."""

    def __init__(self, class_name: str, message: str) -> None:
        super().__init__(message)
        self.class_name = class_name


class _NotSent(Exception):
    """An HttpRequestException, which the shim turns into the task's failure. Arguments: its
    message, and its inner exception's class, assembly and message."""


async def run_http_activity(stored_input: str, client_timeout: float = CLIENT_TIMEOUT) -> Outcome:
    """Send the request the activity's input holds, and answer as the shim does. Whatever else
    goes wrong (a credential's own error) fails the task with its message, as DurableTask's
    dispatcher fails it for any exception an activity lets escape."""
    request = read_request(stored_input)
    try:
        headers, body = _request_message(request)
        if request.scope is not None:
            headers["Authorization"] = f"Bearer {await _token(request.scope)}"
        return Outcome(result=await _send(request, headers, body, client_timeout))
    except _Escaped as error:
        return Outcome(failure=failures.unhandled_task_failure(error.class_name, str(error)))
    except _NotSent as error:
        return Outcome(failure=failures.http_request_failure(*error.args))
    except Exception as error:
        log.warning("call_http to %s failed: %r", request.uri, error)
        return Outcome(failure=failures.unhandled_task_failure(type(error).__name__, str(error)))


def _request_message(request: HttpRequest) -> tuple[CIMultiDict[str], bytes | None]:
    """TaskHttpActivityShim.ConvertToHttpRequestMessage: headers and content."""
    headers: CIMultiDict[str] = CIMultiDict({"User-Agent": USER_AGENT})
    content_type = ""
    for name, values in request.headers.items():
        if name.lower() == "content-type":
            for value in values:
                if "multipart" in value:
                    message = "Multipart content is not supported with CallHttpAsync."
                    raise _Escaped(f"{DURABLE}.FunctionFailedException", message)
                content_type = value
        elif name.lower() in CONTENT_HEADERS:
            raise _Escaped(
                "System.InvalidOperationException",
                f"Misused header name, '{name}'. Make sure request headers are used with "
                "HttpRequestMessage, response headers with HttpResponseMessage, and content "
                "headers with HttpContent objects.",
            )
        elif values:
            headers[name] = ", ".join(values)  # a request's own value replaces the client's
    if request.content is None:
        return headers, None
    content_type = content_type or "text/plain"
    if not _MEDIA_TYPE.fullmatch(content_type):
        problem = f"The format of value '{content_type}' is invalid."
        raise _Escaped("System.FormatException", problem)
    if content_type.lower() == "application/x-www-form-urlencoded":
        content_type += "; charset=utf-8"  # StringContent with Encoding.UTF8 names it
    headers["Content-Type"] = content_type
    return headers, request.content.encode()


async def _token(scope: str) -> str:
    """ManagedIdentityTokenSource.GetTokenAsync: a new DefaultAzureCredential, the scope as
    the request names it."""
    try:
        from azure.core.exceptions import ClientAuthenticationError
        from azure.identity import CredentialUnavailableError
        from azure.identity.aio import DefaultAzureCredential
    except ImportError as missing:
        message = (
            "call_http with a token source needs azure-identity where devhost runs: "
            "pip install 'devhost[azure]'"
        )
        log.error(message)
        raise _Escaped("System.InvalidOperationException", message) from missing
    async with DefaultAzureCredential() as credential:
        try:
            return (await credential.get_token(scope)).token
        except CredentialUnavailableError as error:
            unavailable = "Azure.Identity.CredentialUnavailableException"
            raise _Escaped(unavailable, error.message) from error
        except ClientAuthenticationError as error:
            failed = "Azure.Identity.AuthenticationFailedException"
            raise _Escaped(failed, error.message) from error


def _absolute(uri: str) -> str:
    """HttpClient.SendAsync's checks of the request's uri."""
    url = urlsplit(uri)
    if not (url.scheme and url.netloc):
        raise _Escaped(
            "System.InvalidOperationException",
            "An invalid request URI was provided. Either the request URI must be an absolute "
            "URI or BaseAddress must be set.",
        )
    if url.scheme.lower() not in ("http", "https"):
        problem = f"The '{url.scheme}' scheme is not supported."
        raise _Escaped("System.NotSupportedException", problem)
    return uri


async def _send(
    request: HttpRequest, headers: CIMultiDict[str], body: bytes | None, timeout: float
) -> str:
    """HttpClient.SendAsync, its content read to the end within the client's timeout."""
    url = _absolute(request.uri)
    try:
        async with (
            aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=timeout),
                auto_decompress=False,
                trust_env=True,  # the proxy settings HttpClientHandler reads
                skip_auto_headers=NOT_ADDED,
            ) as session,
            session.request(
                request.method, url, headers=headers, data=body, max_redirects=MAX_REDIRECTS
            ) as response,
        ):
            content = await response.read()
            names = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers]
            return response_result(response.status, names, _text(content, response.charset))
    except TimeoutError as error:
        raise _Escaped(
            "System.Threading.Tasks.TaskCanceledException",
            f"The request was canceled due to the configured HttpClient.Timeout of {timeout:g} "
            "seconds elapsing.",
        ) from error
    except aiohttp.ClientSSLError as error:
        raise _NotSent(
            "The SSL connection could not be established, see inner exception.",
            "System.Security.Authentication.AuthenticationException",
            "System.Net.Primitives",
            str(error),
        ) from error
    except aiohttp.ClientConnectorError as error:
        cause = _socket_message(error.os_error)
        raise _NotSent(
            f"{cause} ({error.host}:{error.port})",
            "System.Net.Sockets.SocketException",
            "System.Net.Primitives",
            cause,
        ) from error
    except aiohttp.ClientError as error:
        raise _NotSent(
            "An error occurred while sending the request.",
            "System.IO.IOException",
            "System.Private.CoreLib",
            str(error) or type(error).__name__,
        ) from error


def _socket_message(error: OSError) -> str:
    """The SocketException's message: the system's text for the error ("Connection refused",
    "Name or service not known")."""
    if isinstance(error, socket.gaierror) or not error.errno:
        return error.strerror or str(error)
    return os.strerror(error.errno)


def _text(body: bytes, charset: str | None) -> str:
    """HttpContent.ReadAsStringAsync: a byte order mark wins, then the Content-Type's charset,
    then UTF-8; bytes that do not decode become U+FFFD."""
    for mark, codec in _BYTE_ORDER_MARKS:
        if body.startswith(mark):
            return body[len(mark) :].decode(codec, "replace")
    try:
        return body.decode(charset or "utf-8", "replace")
    except LookupError:
        return body.decode("utf-8", "replace")
