"""Problem details (RFC 9457): the one error shape every route answers with.

Raise `ProblemError(status, detail, errors=[...])` anywhere under a handler; `handle_errors`
in api/common.py turns it into an `application/problem+json` response.
"""

from __future__ import annotations

import json

import azure.functions as func

from domain.views import FieldError, Problem

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Invalid request",
    401: "Sign-in required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    500: "Internal error",
}


def title(status: int) -> str:
    """The short, fixed title of a status (RFC 9457 `title`)."""
    return _TITLES.get(status, "Error")


class ProblemError(Exception):
    """Raise anywhere under a handler to answer with a problem+json response."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        status_url: str | None = None,
        required_roles: list[str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.problem = Problem(
            title=title(status),
            status=status,
            detail=detail,
            errors=errors,
            status_url=status_url,
            required_roles=required_roles,
        )


def problem_response(problem: Problem) -> func.HttpResponse:
    """A problem+json response (RFC 9457)."""
    body = problem.model_dump(mode="json", by_alias=True, exclude_none=True)
    return func.HttpResponse(json.dumps(body), status_code=problem.status, mimetype=PROBLEM_JSON)
