"""`GET /api/me`: who is signed in, with which roles, and which portal actions they may take.

The console asks this rather than App Service's `/.auth/me`, which answers only while the
platform's token store is on; the Bicep leaves it off (the app keeps no one's tokens). The
answer comes from the platform's principal header, as every decision of the API does, so what
the console offers is what the API will accept.
"""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from api import openapi
from api.common import handle_errors, json_response
from api.identity import actor_field_accepted, principal
from domain.access import missing_roles
from domain.views import ActionRight, Me
from domain.workflows import ACTION_ROLES

bp = df.Blueprint()


@bp.route(route="me", methods=["GET"])
@handle_errors
async def who_am_i(req: func.HttpRequest) -> func.HttpResponse:
    """The caller and what it may do; locally, with nobody signed in, the actor field's rule."""
    caller = principal(req)
    local = caller is None and actor_field_accepted()
    actions = {
        event: ActionRight(
            allowed=local or (caller is not None and not missing_roles(caller, roles)),
            needs=sorted(roles),
        )
        for event, roles in ACTION_ROLES.items()
    }
    if caller is None:
        return json_response(Me(signed_in=False, actor_field=local, actions=actions))
    me = Me(
        signed_in=True,
        name=caller.name,
        object_id=caller.object_id,
        roles=caller.roles,
        kind=caller.kind,
        actor_field=False,
        actions=actions,
    )
    return json_response(me)


openapi.operation(
    "GET", "/me", "Who is signed in, their roles and the actions they may take", tag="meta",
    responses={200: Me},
)  # fmt: skip
