"""study_fmnist_ae_vs_vae@<name>: MLP AE vs VAE on binarized Fashion-MNIST side by side: metrics/studies/fmnist_ae_vs_vae_<name>.json, plots/studies/fmnist_ae_vs_vae_<name>/."""

from aelab.cli import stage_main
from aelab.studies.ae_vs_vae import study_fmnist_ae_vs_vae

if __name__ == "__main__":
    stage_main("study_fmnist_ae_vs_vae", study_fmnist_ae_vs_vae, target="name", doc=__doc__)
