#!/usr/bin/env bash
# Runs the README's walkthrough (the code block after its "walkthrough" marker) exactly as
# written, against a fresh stack started here like `make run` (on free ports, its state in a
# temporary folder), then checks that it reached `complete` and that the webhook applied.
#
#   tests/walkthrough.sh            # from the repository's root, after `make install`
#
# Prints every command as it runs (bash -x) and the stack's log folder if something fails.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in curl jq openssl; do
  command -v "$tool" >/dev/null || { echo "walkthrough: needs $tool" >&2; exit 2; }
done

state=$(mktemp -d)
stack_pid=""
stop_stack() {
  if [[ -n "$stack_pid" ]] && kill -0 "$stack_pid" 2>/dev/null; then
    kill -INT "$stack_pid"
    wait "$stack_pid" || true
  fi
  rm -rf "$state"
}
trap stop_stack EXIT

# The stack, as `make run RUN_ARGS="--free-ports --var ..."` starts it.
.venv/bin/alooba-devstack --free-ports --var "$state/var" >"$state/stack.out" 2>&1 &
stack_pid=$!
for _ in $(seq 600); do
  grep -q "Press Ctrl-C" "$state/stack.out" && break
  kill -0 "$stack_pid" 2>/dev/null || { cat "$state/stack.out" >&2; exit 1; }
  sleep 0.2
done
grep -q "Press Ctrl-C" "$state/stack.out" || { cat "$state/stack.out" >&2; exit 1; }
# The export lines --free-ports prints, which the README says to paste.
eval "$(grep '^export ' "$state/stack.out")"
echo "walkthrough: stack up at $GATEWAY_URL (state in $state/var)"

# The README's block, untouched.
block=$(awk '/<!-- walkthrough:/ {found = 1; next}
             found && /^```sh$/ {inside = 1; next}
             inside && /^```$/ {exit}
             inside {print}' README.md)
[[ -n "$block" ]] || { echo "walkthrough: no block after the marker in README.md" >&2; exit 1; }

checks='
status=$(curl -s -u "$KEY:" "$GATEWAY/test_status?partner_interview_id=$INTERVIEW_ID")
jq -e ".partner_status == \"complete\" and .partner_score == 81" <<<"$status" >/dev/null
alooba-gh --json invitation list --org "$ORG" | jq -e ".invitations[0].status == \"INVITATION_STATUS_COMPLETE\"" >/dev/null
echo "walkthrough: reached complete: $status"
'
started=$(date +%s)
if ! PS4='+ ' bash -x -e -o pipefail -c "$block
$checks"; then
  echo "walkthrough: FAILED; the services' logs:" >&2
  tail -n 20 "$state"/var/log/*.log >&2
  exit 1
fi
echo "walkthrough: passed in $(( $(date +%s) - started )) s"
