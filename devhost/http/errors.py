"""Errors as the Durable HTTP API answers them: a status code, and a JSON body in the shape of
HttpRequestMessageExtensions.CreateErrorResponse (none for a 404 or 410, as HttpApiHandler's
have none).

Handlers raise `HostError` and its kinds; what the engine refuses (devhost/engine/refusals.py)
is answered as HttpApiHandler answers the exception DurableClient throws: an ArgumentException
is a 400 with the extension's summary, any other failure a 500 with its own.
"""

from __future__ import annotations

from aiohttp import web

from devhost.engine.refusals import (
    InstanceFinished,
    InstanceNotFound,
    InvalidArgument,
    InvalidOperation,
    NotIdle,
    Refused,
)

ARGUMENTS_INCORRECT = "One or more of the arguments submitted is incorrect"
SOMETHING_WENT_WRONG = "Something went wrong while processing your request"


class HostError(Exception):
    """A request the host refuses; `status` is the HTTP status Azure would answer with.

    `summary` is the extension's `Message` when it differs from the exception's own text
    (HttpApiHandler.HandleRequestAsync wraps ArgumentExceptions and other failures).
    """

    status = 400

    def __init__(self, message: str, summary: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.summary = summary or message


class ServerError(HostError):
    status = 500


class NotFound(HostError):
    status = 404


class Gone(HostError):
    status = 410


class StillBusy(HostError):
    """The host did not become idle in time; the message says what was still running."""

    status = 408


def error(status: int, message: str, summary: str | None = None) -> web.Response:
    """An error as HttpRequestMessageExtensions.CreateErrorResponse words it: `Message`, and
    `ExceptionMessage` when an exception was behind it."""
    body = {"Message": summary or message}
    if summary and summary != message:
        body["ExceptionMessage"] = message
    return web.json_response(body, status=status)


def answer(problem: HostError | Refused) -> web.Response:
    """The response to a refused request."""
    if isinstance(problem, Refused):
        problem = as_host_error(problem)
    if isinstance(problem, (NotFound, Gone)):
        return web.Response(status=problem.status)
    return error(problem.status, problem.message, problem.summary)


def as_host_error(refusal: Refused) -> HostError:
    """What HttpApiHandler answers when DurableClient throws this."""
    message = refusal.message
    if isinstance(refusal, InstanceNotFound):
        return NotFound(message)
    if isinstance(refusal, InstanceFinished):
        return Gone(message)
    if isinstance(refusal, InvalidArgument):
        return HostError(message, ARGUMENTS_INCORRECT)
    if isinstance(refusal, InvalidOperation):
        return ServerError(message, SOMETHING_WENT_WRONG)
    if isinstance(refusal, NotIdle):
        return StillBusy(message)
    return HostError(message)
