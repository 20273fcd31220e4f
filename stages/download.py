"""download@<dataset>: fill data/raw/<dataset>/ from the first source that serves."""

from aelab.core.cli import stage_main
from aelab.stage_fns import download

if __name__ == "__main__":
    stage_main("download", download, target="dataset", doc=__doc__)
