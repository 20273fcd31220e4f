#!/usr/bin/env bash
# The GPU measurements of README "Scale-out: a GPU", in one timed pass that fits a short lease:
#
#   bash scripts/gpu_check.sh OUTDIR [BUDGET_S]
#
# 0. the machine (GPU, CPU, torch) and an import check that stops here if a stage could not run;
# 1. benchmarks/train_speed.py --device cuda (project vs plain loop on the GPU);
# 2. the default pipeline's stages (train → evaluate → classify → studies → report) from dvc.lock
#    with scripts/run_stages.py, many at a time (no DVC needed; download/preprocess/ood are
#    taken as done, so data/processed and data/ood must be there), GPU load sampled meanwhile;
# 3. benchmarks/train_precision.py --device cuda (bf16 autocast vs fp32 per conv variant);
# 4. the study-settings profile (profiles/study.yaml) for the train@/evaluate@/tune@ stages it
#    changes, except the 500-epoch photo GAN, whose time step 2's 12 epochs give per epoch.
# Each step gets what is left of BUDGET_S (default 540 s) and stops at its share, so the
# results come back even when a step runs long. Results (logs, timing/, metrics/, the report's
# text) go to OUTDIR as a few archives. Needs python3 with torch; where `.whl/` holds wheels
# (DVC, dvclive, Optuna, … for a machine without them: scripts/gpu_wheels.sh) they are
# installed to /tmp/site first.
#
# STEPS picks steps (default "speed pipeline precision profile"). Measured on an H200
# (2026-12-04): steps 0–1 take about 70 s and the pipeline about 600 s at -j 12, so one
# 10-minute call does not hold them all: STEPS=pipeline first, then STEPS="speed precision
# profile" while the machine is warm. RESUME=1 makes step 2 skip the stages an earlier pass on
# the same machine finished (timing/run_stages.json). Steps 2 and 4 write over the workspace's
# outputs (step 4 trains with the study settings, then restores params.yaml's defaults): use a
# scratch copy of the project, as the device tool's is.
set -u
OUT=${1:?usage: gpu_check.sh OUTDIR [BUDGET_S]}
BUDGET=${2:-540}
cd "$(dirname "$0")/.."
mkdir -p "$OUT"
exec > >(tee "$OUT/log.txt") 2>&1
T0=$(date +%s)
left() { echo $((BUDGET - ($(date +%s) - T0))); }
step() { echo; echo "=== $* (at $(($(date +%s) - T0)) s, $(left) s left) ==="; }
export PYTHONUNBUFFERED=1 PY=python3
STEPS=" ${STEPS:-speed pipeline precision profile} "
want() { [[ "$STEPS" == *" $1 "* ]]; }

step "0. machine"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,utilization.gpu --format=csv
echo "cores $(nproc); load $(cut -d' ' -f1-3 /proc/loadavg); $(grep -m1 'model name' /proc/cpuinfo)"
free -g | head -2
if compgen -G ".whl/*.whl" >/dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site || { echo "wheel install failed"; exit 3; }
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
$PY - <<'EOF' || { echo "import check failed: stopping before the timed steps"; exit 3; }
import sys, tempfile, torch
print("python", sys.version.split()[0], "| torch", torch.__version__, "| cuda", torch.version.cuda,
      "| available", torch.cuda.is_available(), "|", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
assert torch.cuda.is_available(), "no CUDA device"
import dvclive, optuna, sklearn, matplotlib, seaborn, pandas, scipy  # what the stages import
from dvclive import Live
with Live(dir=tempfile.mkdtemp(), dvcyaml=None, save_dvc_exp=False, report=None) as live:
    live.log_metric("x", 1.0, plot=True, timestamp=False)
optuna.storages.RDBStorage(f"sqlite:///{tempfile.mkdtemp()}/t.db")
from aelab.core.params import load_params
from aelab.core.runtime import configure_torch
from aelab.models import build_model
p = load_params("params.yaml")
print("params ok; device", configure_torch(1, p.runtime.device))
from importlib.metadata import version
print("versions:", {d: version(d) for d in ("dvclive", "dvc", "optuna", "scikit-learn", "numpy", "torchvision")})
EOF

if want speed; then
  step "1. train_speed on the GPU"
  timeout 100 $PY benchmarks/train_speed.py --device cuda --pairs 3 --epochs 2 \
    --out "$OUT/train_speed_cuda.json" || echo "train_speed: rc $?"
fi

if want pipeline; then
  step "2. default pipeline (scripts/run_stages.py)"
  nvidia-smi dmon -s um -d 5 > "$OUT/dmon.txt" 2>&1 &
  DMON=$!
  RESERVE=$(for s in precision profile; do want $s && echo 65; done | awk '{t += $1} END {print t + 15}')
  $PY scripts/run_stages.py -j 12 --threads 1 --deadline $(( $(left) - RESERVE )) ${RESUME:+--resume} \
    --out timing/run_stages.json
  kill $DMON 2>/dev/null
  tar czf "$OUT/pipeline.tgz" timing metrics report/README.md 2>/dev/null
fi

if want precision; then
  step "3. bf16 vs fp32 on the GPU (benchmarks/train_precision.py)"
  timeout 40 $PY benchmarks/train_precision.py --device cuda --pairs 2 \
    --out "$OUT/train_precision_cuda.json" || echo "train_precision: rc $?"
fi

if want profile; then
  step "4. study-settings profile (train@/evaluate@ it changes, tune@; photo GAN excluded)"
  V=$(grep -o '^variants\.[a-z0-9_]*' profiles/study.yaml | cut -d. -f2 | sort -u | grep -v '^emoji_deep_gan$')
  ONLY=$(for v in $V; do printf 'train@%s,evaluate@%s,' "$v" "$v"; done)tune@
  $PY -m aelab.profile study && mkdir -p timing/profile \
    && $PY scripts/run_stages.py -j 12 --threads 1 --only "$ONLY" --deadline $(( $(left) - 15 )) \
         --logs timing/profile/logs --out timing/profile/run_stages.json
  tar czf "$OUT/profile.tgz" timing/profile $(for v in $V fmnist_mlp_vae; do echo timing/train@$v.json \
    timing/evaluate@$v.json timing/tune@$v.json metrics/train/$v.json metrics/eval/$v.json; done) \
    metrics/studies/tune_fmnist_mlp_vae.json 2>/dev/null
  $PY -m aelab.profile default
fi
step "done"
nvidia-smi --query-gpu=name,memory.used,utilization.gpu --format=csv
ls -la "$OUT"
