"""An orchestrator that reports the versions it and its sub-orchestrations were given."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def versioned_parent(context: df.DurableOrchestrationContext):
    """Starts one child with the host's default version and one pinned to "0.9"."""
    defaulted = yield context.call_sub_orchestrator("versioned_child", None)
    pinned = yield context.call_sub_orchestrator("versioned_child", None, version="0.9")
    return {"parent": context.version, "defaultChild": defaulted, "pinnedChild": pinned}


@app.orchestration_trigger(context_name="context")
def versioned_child(context: df.DurableOrchestrationContext):
    return context.version
