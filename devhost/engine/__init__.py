"""The engine: runs the hub's queued work in the workers and commits what it decided."""
