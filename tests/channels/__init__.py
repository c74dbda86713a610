"""Test doubles for the messaging channels (tests/test_channels.py).

``REPORT`` collects one line per channel that passed; ``make test-channels`` prints them."""

REPORT: dict[str, str] = {}
