"""The task hub: one SQLite file of instances, their history, entities and queued messages."""
