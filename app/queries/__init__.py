"""Reads: what the admin pages, the /api/v1 reports and the storefront widget show. A module here
never writes or commits (tests/test_architecture.py checks it); the use cases that change state
live in app/services."""
