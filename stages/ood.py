"""ood@<dataset>: data/ood/<dataset>.npz, the test split of the dataset ood.<dataset>
names (what evaluate@ scores for the anomaly task), or why there is none."""

from aelab.core.cli import stage_main
from aelab.stage_fns import ood

if __name__ == "__main__":
    stage_main("ood", ood, target="dataset", doc=__doc__)
