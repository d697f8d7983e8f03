"""The idempotency entity: `idempotency@<instance id>`, the first answers to portal actions.

Operation `remember {key, answer}` keeps a key's first answer (domain/idempotency.py has the
rules); api/idempotency.py reads the state to answer a retried action as the first time.
"""

from __future__ import annotations

import azure.durable_functions as df

from domain.common import to_json
from domain.idempotency import IDEMPOTENCY_ENTITY, KeyRecords, Remembered, remember

bp = df.Blueprint()


@bp.entity_trigger(context_name="context", entity_name=IDEMPOTENCY_ENTITY)
def idempotency(context: df.DurableEntityContext) -> None:
    """Keep one key's first answer; unknown operations fail the call."""
    if context.operation_name != "remember":
        raise ValueError(f"unknown idempotency operation {context.operation_name!r}")
    request = context.get_input()
    records = KeyRecords.model_validate(context.get_state(dict) or {})
    answer = Remembered.model_validate(request["answer"])
    context.set_state(to_json(remember(records, request["key"], answer)))
