"""study_moons_mmd@<name>: MMD autoencoder (latent 2) vs the bottleneck-1 AE on two moons, plus a kernel/bandwidth/λ grid: metrics/studies/moons_mmd_<name>.json, plots/studies/moons_mmd_<name>/."""

from aelab.cli import stage_main
from aelab.studies.mmd import study_moons_mmd

if __name__ == "__main__":
    stage_main("study_moons_mmd", study_moons_mmd, target="name", doc=__doc__)
