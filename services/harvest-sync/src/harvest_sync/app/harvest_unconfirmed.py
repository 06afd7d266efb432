"""What harvest-sync assumes about Harvest that nothing public confirms yet: each entry names
its row of `../shared/reference/harvest-v3-facts.md` and says how the code copes whichever
way Greenhouse turns out to behave. Everything confirmed is in `contract.py`. The Harvest
emulator (greenhouse_emulator.harvest, `V3Behaviour`) plays every reading of these, the
worst one by default, and the tests run against both.
"""

from __future__ import annotations

from typing import Final

# Row 2: the v1 Dev Center label of Add User. Only the doc heading was found.
ADD_USER: Final = "POST: Add User"

# Row 8: v1 has no endpoint that lists a key's permissions, so each needed endpoint is
# probed with a request that cannot change anything (GETs with per_page=1, writes with an
# empty body or application id 0), assuming Greenhouse checks the permission before the
# body. The v3 client probes the same way when the token does not name its scopes.
V1_PROBE_APPLICATION_ID: Final = 0
V3_PROBE_APPLICATION_ID: Final = 0

# Row 24: the 201 bodies of POST /v3/users and /v3/custom_fields (only `{"id": 5}` mocks
# seen). The v3 client needs nothing but the id from them: a field is read again by
# `ids=` when its name_key is missing, a new user is known to be a Basic, active user.

# Row 27: whether PATCH /v3/applications/{id} replaces the whole custom_fields collection.
# The v3 client always reads the application's custom fields first and writes them back
# with ours (read-merge-write), which is right either way.

# Row 35: the body of a v3 403. Only RFC 6750's would name the scope; anything else leaves
# "a missing scope, or an acting user who is not a Site Admin" (row 34), and the status
# says both.
V3_INSUFFICIENT_SCOPE: Final = "insufficient_scope"

# Row 36: whether the token answer carries `scope`. Without it the v3 client probes each
# endpoint (row 8's way) instead.
V3_GRANTED_SCOPES_FIELD: Final = "scope"

# Row 38: v3 "publishes no ceiling"; 50 is used until X-RateLimit-Limit says otherwise.
DEFAULT_RATE_LIMIT: Final = 50

# E5: v3 takes no idempotency key, so after a create that timed out the record is looked up
# (by primary_email, or by name) before it is created again.

# E6: "GET endpoints are only accessible by site admin users"; whether the service account
# (a token without `sub`) counts as one is unknown. The v3 client reads as the integration
# user once it is a Site Admin, else as the Site Admin named at connect, and only then as
# the service account; a read that comes back empty proves nothing, so it never creates a
# user on the strength of one.

# E12: whether minting a token revokes the client's earlier ones ("single-active-token
# semantics"). Every replica uses the one token per client and `sub` kept in harvest-sync's
# database, minted under a lock, so they cannot knock each other out.
