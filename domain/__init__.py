"""Payload schemas and pure business rules: no Azure imports, no I/O."""
