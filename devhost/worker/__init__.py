"""App code in worker processes: the pipe's messages, the host's pool, the worker itself."""
