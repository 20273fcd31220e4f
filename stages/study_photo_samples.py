"""study_photo_samples@<name>: the photo study's CAE + GMM, VAE and GAN samples side by side (sharpness, variety): metrics/studies/photo_samples_<name>.json, plots/studies/photo_samples_<name>/."""

from aelab.cli import stage_main
from aelab.studies.photo_samples import study_photo_samples

if __name__ == "__main__":
    stage_main("study_photo_samples", study_photo_samples, target="name", doc=__doc__)
