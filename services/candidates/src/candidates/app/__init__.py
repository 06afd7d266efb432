"""Use cases and rules: they own their transactions, hold no SQL, declare their ports."""
