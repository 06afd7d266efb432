"""Types and rules every layer may read, the store too: errors, budget rules, tokens."""
