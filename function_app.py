"""Composition root: one Durable Functions app, one blueprint per module. Nothing else.

To add a workflow, import its modules and list their `bp` in BLUEPRINTS.
"""

import azure.durable_functions as df
import azure.functions as func

from activities import claims as claims_activities
from activities import locks as lock_activities
from activities import maintenance as maintenance_activities
from activities import shipments as shipments_activities
from activities import telemetry as telemetry_activities
from api import claims as claims_api
from api import console as console_api
from api import history as history_api
from api import locks as locks_api
from api import maintenance as maintenance_api
from api import me as me_api
from api import openapi as openapi_api
from api import shipments as shipments_api
from api import support as support_api
from api import workflows as workflows_api
from entities import idempotency as idempotency_entity
from entities import lock as lock_entity
from jobs import retention
from orchestrators import claims as claims_orchestrator
from orchestrators import locking as locking_orchestrator
from orchestrators import maintenance as maintenance_orchestrator
from orchestrators import shipments as shipments_orchestrator

BLUEPRINTS = (
    lock_entity.bp,
    idempotency_entity.bp,
    lock_activities.bp,
    telemetry_activities.bp,
    locks_api.bp,
    workflows_api.bp,
    support_api.bp,
    locking_orchestrator.bp,
    openapi_api.bp,
    me_api.bp,
    console_api.bp,
    history_api.bp,
    claims_api.bp,
    claims_orchestrator.bp,
    claims_activities.bp,
    shipments_api.bp,
    shipments_orchestrator.bp,
    shipments_activities.bp,
    maintenance_api.bp,
    maintenance_orchestrator.bp,
    maintenance_activities.bp,
    retention.bp,
)

# Routes are anonymous at the host: people and partner systems sign in with Entra ID (App Service
# Authentication) and never hold a function key; in Azure the app itself refuses whoever the
# platform did not sign in (api/identity.require_sign_in).
app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
for blueprint in BLUEPRINTS:
    app.register_functions(blueprint)
