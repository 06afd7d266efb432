"""The console: the customer's Organization Settings pages (aiohttp, server-rendered)."""
