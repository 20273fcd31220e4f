"""study_gan_backbones@<name>: the GAN's conv vs MLP backbone side by side: metrics/studies/gan_backbones_<name>.json, plots/studies/gan_backbones_<name>/."""

from aelab.cli import stage_main
from aelab.studies.gan_backbones import study_gan_backbones

if __name__ == "__main__":
    stage_main("study_gan_backbones", study_gan_backbones, target="name", doc=__doc__)
