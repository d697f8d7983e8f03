"""One module per partner. Each has a Protocol (what activities rely on), an `Http…` client for
the real service, a `Simulated…` local stand-in, and `client()` choosing between them: the HTTP
client when setting `<PARTNER>_BASE_URL` is set, the simulator otherwise."""
