#!/usr/bin/env bash
# demo.sh - bootstrap, then start a local Orthanc with a synthetic cohort and
# show what orthanc-frames does with it. Arguments go to `orthanc-frames demo`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/bootstrap.sh
if [ -f orthanc_frames/cli.py ] && [ -x .venv/bin/orthanc-frames ]; then
  exec .venv/bin/orthanc-frames demo "$@"
fi
exec .venv/bin/python -m orthanc_frames.local_server --demo
