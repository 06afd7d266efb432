"""Greenhouse's Harvest API over HTTP: v1, v3, tokens, transport."""
