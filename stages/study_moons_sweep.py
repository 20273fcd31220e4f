"""moons_sweep@<axis>: one hyperparameter of the bottleneck-1 two-moons AE: metrics/studies/moons_sweep_<axis>.json, plots/studies/moons_sweep_<axis>/."""

from aelab.cli import stage_main
from aelab.studies.sweep import moons_sweep

if __name__ == "__main__":
    stage_main("moons_sweep", moons_sweep, target="axis", doc=__doc__)
