"""Durable entities; each is a thin wrapper around pure rules in domain/."""
