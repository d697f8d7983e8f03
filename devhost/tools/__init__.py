"""Commands beside the host: list, show, purge, export instances; replay-check; token."""
