"""Commands that need no running host: list, show, purge and export instances; replay-check."""
