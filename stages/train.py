"""train@<variant>: train one variant: models/<variant>.pt, metrics/train/<variant>.json, plots/train/<variant>/."""

from aelab.core.cli import stage_main
from aelab.stage_fns import train

if __name__ == "__main__":
    stage_main("train", train, target="variant", doc=__doc__)
