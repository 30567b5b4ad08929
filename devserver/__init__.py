"""Parley's local stack: `python -m devserver` (`make run`) runs the whole system in one
process on one port with no cloud account. Never deployed; see DESIGN.md, "Local stack"."""
