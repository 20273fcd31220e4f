"""preprocess@<dataset>: build data/processed/<dataset>.npz (the data contract)."""

from aelab.core.cli import stage_main
from aelab.stage_fns import preprocess

if __name__ == "__main__":
    stage_main("preprocess", preprocess, target="dataset", doc=__doc__)
