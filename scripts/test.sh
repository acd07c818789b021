#!/usr/bin/env bash
# test.sh - the whole check: bootstrap, then lint, format check, type check and
# the test suite against real Orthanc servers: the whole suite on Orthanc 1.12.7
# with SQLite, then the server-facing suites on Orthanc 1.12.7 with the
# PostgreSQL index and on Orthanc 1.10 (ORTHANC_FRAMES_SERVER, see
# tests/conftest.py). Arguments go to each pytest run (e.g. scripts/test.sh -k
# frames -x). Exits non-zero if any step fails, and when pytest collects no
# test at all.
# Env: TEST_SERVER_KINDS="sqlite postgres 1.10"  the kinds to run, in order
#      (default: these three; 1.10 only where it is installed)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/bootstrap.sh || { echo "FAILED: scripts/bootstrap.sh" >&2; exit 1; }

failed=()
step() {
  echo "==> $*"
  "$@" || failed+=("$*")
}
step .venv/bin/ruff check .
step .venv/bin/ruff format --check .
step .venv/bin/mypy

# The suites that talk to a server, run again on the other server kinds.
SERVER_SUITES=(
  tests/client/test_client.py tests/client/test_retries.py tests/client/test_routes_and_names.py
  tests/test_find.py tests/test_paging.py
  tests/resources/test_resources_read.py tests/resources/test_resources_modify.py
  tests/frames/test_load.py tests/frames/test_requests.py tests/frames/test_refresh.py
  tests/frames/test_accessor.py tests/frames/test_accessor_transfer.py
  tests/transfer/test_download.py tests/transfer/test_upload.py
  tests/test_files_as_orthanc_reads_them.py tests/test_corpus.py
)
for suite in "${SERVER_SUITES[@]}"; do
  [ -f "$suite" ] || { echo "FAILED: scripts/test.sh names $suite, which does not exist" >&2; exit 1; }
done

run_pytest() {  # run_pytest KIND ARGS...
  local kind=$1 status; shift
  echo "==> [server: $kind] pytest $*"
  ORTHANC_FRAMES_SERVER=$kind .venv/bin/python -m pytest "$@"
  status=$?
  if [ "$status" = 5 ]; then
    failed+=("pytest on $kind (no tests were collected)")
  elif [ "$status" != 0 ]; then
    failed+=("pytest on $kind (exit code $status)")
  fi
}
KINDS=${TEST_SERVER_KINDS:-}
if [ -z "$KINDS" ]; then
  KINDS="sqlite postgres"
  # Orthanc 1.10 comes from Debian 12's own package (none on Debian 13).
  if [ -x "${ORTHANC_110_BIN:-/opt/orthanc-ci/bin/orthanc-1.10}" ]; then
    KINDS="$KINDS 1.10"
  else
    echo "==> no Orthanc 1.10 installed (Debian 12 only): its run is skipped"
  fi
fi
for kind in $KINDS; do
  if [ "$kind" = sqlite ]; then
    run_pytest sqlite "$@"
  else
    run_pytest "$kind" -q "${SERVER_SUITES[@]}" "$@"
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "all checks passed"
