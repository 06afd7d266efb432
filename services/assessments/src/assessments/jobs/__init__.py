"""Sweepers, periodic and maintenance work."""
