#!/usr/bin/env bash
# test.sh - the whole check: bootstrap, then lint, format check, type check and
# the test suite against real Orthanc servers. Arguments go to pytest
# (e.g. scripts/test.sh -k frames -x). Exits non-zero if any step fails,
# and when pytest collects no test at all.
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

echo "==> pytest $*"
.venv/bin/python -m pytest "$@"
pytest_status=$?
if [ "$pytest_status" = 5 ]; then
  failed+=("pytest (no tests were collected)")
elif [ "$pytest_status" != 0 ]; then
  failed+=("pytest (exit code $pytest_status)")
fi

if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "all checks passed"
