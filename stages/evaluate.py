"""evaluate@<variant>: run the task suite on one trained variant: metrics/eval/<variant>.json, plots/eval/<variant>/*.png."""

from aelab.core.cli import stage_main
from aelab.tasks.runner import evaluate_variant

if __name__ == "__main__":
    stage_main("evaluate", evaluate_variant, target="variant", doc=__doc__)
