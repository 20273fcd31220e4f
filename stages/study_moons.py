"""study_moons: best moons_sweep setting: spread over seeds/datasets, code GMM, noise: metrics/studies/moons.json, plots/studies/moons/."""

from aelab.cli import stage_main
from aelab.studies.moons_study import study_moons

if __name__ == "__main__":
    stage_main("study_moons", study_moons, doc=__doc__)
