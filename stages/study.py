"""study: run one registered study (src/aelab/studies/registry.py) as its DVC stage.

    python stages/study.py <study> [<entry>]    e.g. `rbm mnist`, `moons_sweep lr`, `digits`

Each writes metrics/studies/<study>[_<entry>].json and plots/studies/<study>[_<entry>]/."""

import sys

from aelab.core.cli import study_main

if __name__ == "__main__":
    study_main(sys.argv[1:], doc=__doc__)
