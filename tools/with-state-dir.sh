#!/bin/sh
# Runs a command with INTERACTIONS_STATE_DIR set to a fresh private directory, removed afterwards:
# tests never read or write the user's own rate-limit state.
dir=$(mktemp -d "${TMPDIR:-/tmp}/ix-test-state.XXXXXX") || exit 1
INTERACTIONS_STATE_DIR=$dir "$@"
status=$?
rm -rf "$dir"
exit $status
