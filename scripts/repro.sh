#!/usr/bin/env bash
# Set everything up, then run the whole default pipeline (`dvc repro`). Extra arguments go
# to `dvc repro` (e.g. a stage name such as train@moons_ae_z1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
# DVC writes dvc.lock in place: a run killed mid-write leaves it torn. Restore git's copy.
python -m aelab.lockcheck dvc.lock
dvc repro "$@"
dvc metrics show --md > /dev/null && echo "pipeline done: see report/index.html and 'dvc metrics show'"
