#!/usr/bin/env bash
# Set everything up, then run the test suite. Extra arguments go to pytest
# (e.g. `-m "not slow"` for the fast tests only).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
# One torch thread per process: two processes with 2 threads each on a 2-core machine
# run 10–50× slower than one.
export AELAB_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 MPLBACKEND=Agg
# One pytest worker per core (pytest-xdist; AELAB_TEST_WORKERS=0 runs in this process).
exec python -m pytest -n "${AELAB_TEST_WORKERS:-auto}" "$@"
