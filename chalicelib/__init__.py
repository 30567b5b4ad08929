"""Parley's server code: everything app.py wires together."""
