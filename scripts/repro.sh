#!/usr/bin/env bash
# Set everything up, then run the whole default pipeline: `dvc repro`, several stages at a
# time (scripts/run_stages.py --dvc: DVC's graph and change checks, the same dvc.lock).
#   JOBS=N      stages at once (default: the number of cores); JOBS=1 runs plain `dvc repro`
#   THREADS=N   torch threads per stage (default: cores / JOBS, at least 1)
# Any argument runs plain `dvc repro` with it (e.g. a stage name such as train@moons_ae_z1, -f).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
# DVC writes dvc.lock in place: a run killed mid-write leaves it torn. Restore git's copy.
python -m aelab.lockcheck dvc.lock
cores="$(nproc)"
jobs="${JOBS:-$cores}"
if [ $# -eq 0 ] && [ "$jobs" -gt 1 ]; then
    python scripts/run_stages.py --dvc -j "$jobs" --threads "${THREADS:-$(( cores / jobs > 1 ? cores / jobs : 1 ))}"
else
    dvc repro "$@"
fi
echo "pipeline done: see report/index.html and 'dvc metrics show'"
