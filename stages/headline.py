"""headline: metrics/headline/<variant>.json (about ten numbers each) and _studies.json, the
files `dvc metrics show` / `dvc exp show` list by default."""

from aelab.core.cli import stage_main
from aelab.headline import build_headline

if __name__ == "__main__":
    stage_main("headline", build_headline, doc=__doc__)
