#!/usr/bin/env bash
# Wheels for a GPU machine that has its own Python 3.12 with torch, numpy, scikit-learn,
# matplotlib, seaborn and pandas but no package index (the device machines lent here):
# DVC, dvclive, Optuna, mlxtend and ruamel.yaml with everything they import, at the versions
# this project's venv runs, into .whl/ (git-ignored, about 16 MB). scripts/gpu_check.sh
# installs them with `pip install --no-deps --target /tmp/site` before anything else.
#
#   bash scripts/gpu_wheels.sh [PYTHON_VERSION]      # default 3.12
#
# Pure-Python wheels work on any version; the six with C extensions are fetched for the
# target's CPython. antlr4-python3-runtime (hydra, used only by `dvc exp` params) has no
# wheel and is left out. Run where PyPI can be reached; used on 2026-12-04 (README,
# "Scale-out: a GPU").
set -euo pipefail
cd "$(dirname "$0")/.."
PYV=${1:-3.12}
PURE="aiohttp-retry==2.9.1 alembic==1.20.1 amqp==5.4.2 annotated-types==0.8.0 appdirs==1.4.4
atpublic==9.0.0 billiard==4.3.2 celery==5.7.0 click-didyoumean==0.3.1 click-plugins==1.1.1.2
click-repl==0.4.1 colorlog==6.12.0 configobj==5.0.9 dictdiffer==0.10.0 diskcache==5.6.3
distro==1.9.0 dpath==2.2.0 dvc==3.67.1 dvc-data==3.18.3 dvc-http==2.32.0 dvc-objects==5.2.0
dvc-render==1.0.2 dvc-studio-client==0.23.0 dvc-task==0.40.2 dvclive==3.49.1 entrypoints==0.4.2
flatten-dict==0.5.0 flufl.lock==9.2.0 funcy==2.1 gitdb==4.0.12 gitpython==3.2.1 grandalf==0.8
gto==1.10.1 hydra-core==1.3.8 iterative-telemetry==0.0.10 kombu==5.7.0 mako==1.4.3
mlxtend==0.25.0 omegaconf==2.3.1 optuna==5.0.0 platformdirs==4.14.9 prompt-toolkit==3.0.53
pydantic==2.14.4 pydantic-settings==2.16.3 pydot==4.0.1 pygtrie==2.6.2 python-dotenv==1.2.4
ruamel.yaml==0.19.1 scmrepo==3.6.2 semver==3.1.2 shortuuid==1.0.13 shtab==1.13.0 smmap==5.0.3
sqltrie==0.11.3 tomlkit==0.15.3 typing-inspection==0.4.5 tzlocal==5.4.5 vine==5.1.0
voluptuous==0.16.0 zc.lockfile==4.0"
COMPILED="dulwich==1.2.21 orjson==3.13.0 sqlalchemy==2.1.9 ruamel.yaml.clib==0.2.15 wcwidth==0.9.4
pydantic-core==2.50.5"
mkdir -p .whl
PLATFORMS=""
for p in manylinux_2_34 manylinux_2_28 manylinux_2_24 manylinux_2_17 manylinux2014 manylinux_2_5 manylinux1; do
  PLATFORMS="$PLATFORMS --platform ${p}_x86_64"
done
for spec in $PURE $COMPILED; do
  .venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version "$PYV" \
    --implementation cp $PLATFORMS -d .whl "$spec"
done
echo "$(ls .whl | wc -l) wheels in .whl/ ($(du -sh .whl | cut -f1))"
