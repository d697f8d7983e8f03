"""Orchestrators: deterministic generator code only (see tests/unit/test_orchestrator_guard.py)."""
