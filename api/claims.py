"""Claims over HTTP, from the claim's contract (domain/claims.py): start, status, documents
submitted later, an adjuster's decision."""

from __future__ import annotations

import azure.durable_functions as df

from api.workflow_routes import register
from domain.claims import CONTRACT, Event, submission_refusal

bp = df.Blueprint()

register(
    bp,
    CONTRACT,
    admit={
        Event.DOCUMENTS_SUBMITTED: lambda waiting, body: submission_refusal(
            waiting, len(body.documents)
        )
    },
)
