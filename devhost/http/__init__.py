"""The HTTP face: function routes, the Durable HTTP API, keys, Easy Auth, devhost's endpoints."""
