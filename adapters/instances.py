"""Every instance the Durable host lists, page after page.

The SDK's `get_status_by` asks for one page and drops the continuation token the host answers
with, so past the host's page size (100) instances go missing. This asks the same endpoint the
SDK does (the durable client binding's `rpcBaseUrl`), with `top` and the token header. The
binding's URL is only reachable through a private attribute of the SDK's client: this module is
the one place that reads it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import azure.durable_functions as df
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

CONTINUATION = "x-ms-continuation-token"
HOST_PAGE_SIZE = 100
HOST_TIMEOUT = aiohttp.ClientTimeout(total=60)


async def host_instances(
    client: df.DurableOrchestrationClient,
    prefix: str | None,
    statuses: list[df.OrchestrationRuntimeStatus],
) -> AsyncIterator[DurableOrchestrationStatus]:
    """Every instance the host lists for the filters, following its continuation tokens."""
    query = {"top": str(HOST_PAGE_SIZE)}
    if prefix:
        query["instanceIdPrefix"] = prefix
    if statuses:
        query["runtimeStatus"] = ",".join(status.value for status in statuses)
    url = f"{client._orchestration_bindings.rpc_base_url}instances/"
    headers: dict[str, str] = {}
    async with aiohttp.ClientSession(timeout=HOST_TIMEOUT) as session:
        while True:
            async with session.get(url, params=query, headers=headers) as response:
                response.raise_for_status()
                page = await response.json(content_type=None)
                token = response.headers.get(CONTINUATION)
            for row in page:
                yield DurableOrchestrationStatus.from_json(row)
            if not token:
                return
            headers = {CONTINUATION: token}
