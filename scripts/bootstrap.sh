#!/usr/bin/env bash
# bootstrap.sh - make this machine ready to run orthanc-frames, its demo and its tests.
#
# Idempotent: a second run takes seconds. As root on Debian 12/13 it installs
#   1. the Debian packages the tests need (APT_PACKAGES below),
#   2. a real Orthanc 1.12.7 with the DICOMweb, neuro and GDCM plugins
#      (scripts/install-orthanc.sh), and the other server kinds the tests run
#      on: the PostgreSQL index plugin with a PostgreSQL server, and Debian
#      12's Orthanc 1.10.1 (scripts/install-other-servers.sh),
#   3. a virtual environment in .venv with `pip install -e '.[dev]'`, redone
#      only when pyproject.toml (or the Python) changed since the last install.
# Env: PYTHON=python3.12  use that interpreter for .venv (must be >= 3.10)
#      BOOTSTRAP_SKIP_SYSTEM=1  skip steps 1 and 2 (no root needed)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { echo "[bootstrap] $*" >&2; }

APT_PACKAGES=(
  dcmtk            # storescu, findscu, echoscu... talk DICOM to the test servers
  python3-venv     # `python3 -m venv` on Debian's own Python
  # BROWSER TESTS: Playwright drives Debian's chromium over CDP (no driver
  # package, no `playwright install`); see tests/browser/README.md.
  chromium
  fonts-wqy-microhei  # CJK glyphs (the cohort's Japanese name) in browser screenshots
)

install_system_packages() {
  local missing=() package
  for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if [ "${BOOTSTRAP_SKIP_SYSTEM:-0}" != 1 ]; then
  if [ "$(id -u)" != 0 ]; then
    log "not root: skipping Debian packages and the Orthanc install (run as root to get them)"
  elif ! command -v dpkg-query >/dev/null; then
    log "not a Debian system: install dcmtk and Orthanc >= 1.12 yourself, set ORTHANC_BIN"
  else
    install_system_packages
    bash scripts/install-orthanc.sh 2>&1 | grep -v "^\[install_orthanc +[0-9]*s\] \(debian_version\|done\)" >&2 || true
    [ "${PIPESTATUS[0]}" = 0 ] || { log "scripts/install-orthanc.sh failed"; exit 1; }
    bash scripts/install-other-servers.sh 2>&1 | grep -v "^\[install_other_servers +[0-9]*s\] done" >&2 || true
    [ "${PIPESTATUS[0]}" = 0 ] || { log "scripts/install-other-servers.sh failed"; exit 1; }
  fi
fi

find_python() {
  local candidate
  for candidate in ${PYTHON:-} python3.13 python3.12 python3.11 python3.10 python3; do
    command -v "$candidate" >/dev/null || continue
    if "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

STAMP=.venv/.bootstrap-stamp
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys' 2>/dev/null; then
  PYTHON_BIN=$(find_python) || { log "no python3 >= 3.10 with the venv module found"; exit 1; }
  log "creating .venv with $("$PYTHON_BIN" --version)"
  rm -rf .venv
  "$PYTHON_BIN" -m venv .venv
fi
WANTED="$(sha256sum pyproject.toml | cut -d' ' -f1) $(.venv/bin/python -c 'import sys; print(sys.version)' | head -1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANTED" ]; then
  log "installing orthanc-frames and its dev dependencies into .venv"
  if ! { .venv/bin/python -m pip install --upgrade pip &&
         .venv/bin/python -m pip install -e '.[dev]'; } >.venv/pip-install.log 2>&1; then
    tail -n 40 .venv/pip-install.log >&2
    log "pip install failed; full log in .venv/pip-install.log"
    exit 1
  fi
  echo "$WANTED" > "$STAMP"
fi
log "ready: $(.venv/bin/python --version), Orthanc at ${ORTHANC_BIN:-/opt/orthanc-ci/bin/orthanc}"
