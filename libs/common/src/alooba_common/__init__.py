"""Cross-cutting code shared by the services; each module is one concern."""
