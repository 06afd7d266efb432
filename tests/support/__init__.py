"""Helpers shared by the test suite (database servers, the process stack, HTTP calls)."""
