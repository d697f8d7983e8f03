"""devhost: a local Durable Functions host for Python v2 apps, backed by one SQLite file."""
