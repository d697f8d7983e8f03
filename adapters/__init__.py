"""Everything the app says to the outside world: partners, secrets, telemetry, settings.

Activities call these modules with plain dicts and primitives; nothing here imports the rest of
the app, so a partner can be swapped (HTTP client or local simulator) without touching a workflow.
"""
