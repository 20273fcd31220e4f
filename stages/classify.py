"""classify@<variant>: random forest on originals / reconstructions / samples: metrics/rf/<variant>.json, plots/rf/<variant>/."""

from aelab.core.cli import stage_main
from aelab.probe import classify_variant

if __name__ == "__main__":
    stage_main("classify", classify_variant, target="variant", doc=__doc__)
