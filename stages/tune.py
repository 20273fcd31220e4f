"""tune@<name>: Optuna (TPE vs random vs grid) over epochs, batch size, lr with k-fold CV: metrics/studies/tune_<name>.json, plots/studies/tune_<name>/, optuna/<name>/."""

from aelab.cli import stage_main
from aelab.studies.tune import tune

if __name__ == "__main__":
    stage_main("tune", tune, target="name", doc=__doc__)
