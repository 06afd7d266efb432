"""Outbox handlers and clients of what is outside: other services, SMTP, Greenhouse."""
