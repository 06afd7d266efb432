"""Models and repositories: the service's SQL."""
