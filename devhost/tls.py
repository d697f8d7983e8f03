"""One TLS context per process for every HTTP client devhost makes.

httpx builds a context for each client it is not given one, reading the whole CA bundle
(about 25 ms) even for a host reached over plain HTTP; replay-check makes a client per thread
and the test fixtures one per host, so the bundle was read hundreds of times a run.
"""

from __future__ import annotations

import functools
import ssl


@functools.cache
def shared_context() -> ssl.SSLContext:
    """The system's default verifying context, built once (an SSLContext is safe to share
    between threads and clients)."""
    return ssl.create_default_context()
