#!/usr/bin/env bash
# Idempotent set-up: Debian data packages (when apt is usable), .venv with aelab installed,
# DVC ready. Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

# 1. Offline data sources (Fashion-MNIST IDX files, the colour emoji font) and headless
#    Chromium, which the report test opens the built page in.
DEB_PKGS=(dataset-fashion-mnist fonts-noto-color-emoji chromium)
missing=()
for p in "${DEB_PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  if command -v apt-get >/dev/null && { [ -z "$SUDO" ] || sudo -n true 2>/dev/null; }; then
    log "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" \
      || log "WARNING: apt-get failed; datasets needing ${missing[*]} will use other sources or fail clearly"
  else
    log "WARNING: cannot run apt-get here; install ${missing[*]} yourself for the offline Fashion-MNIST/emoji sources"
  fi
fi

# 2. Virtual environment with the package and its pinned dependencies.
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || { log "creating .venv"; "$PYTHON" -m venv .venv; }
stamp=.venv/.aelab-installed
want="$(sha256sum pyproject.toml | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing aelab and its dependencies into .venv (torch is large: first time takes minutes)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
  echo "$want" > "$stamp"
fi

# 3. DVC: stage commands call `python`/`dvc` from PATH, so callers put .venv/bin first
#    (scripts/repro.sh and scripts/test.sh do). The repo must be a git repo for DVC.
[ -d .git ] || { log "initialising a git repository"; git init -q; }
log "ready: $(.venv/bin/python --version), $(.venv/bin/dvc --version 2>/dev/null | head -1) (dvc)"
