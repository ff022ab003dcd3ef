"""Clients of online recognition services (each with a configurable endpoint)."""
