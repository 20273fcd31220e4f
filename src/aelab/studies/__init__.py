"""Cross-run studies (issue 5), each a DVC stage writing metrics/studies/<study>.json and
plots/studies/<study>/ (settings: `studies:` in params.yaml, typed in studies.config):

    moons_sweep@<axis>           sweep.py        one hyperparameter of the bottleneck-1 moons AE
    study_moons                  moons_study.py  best sweep setting: spread, code GMM, noise
    study_moons_mmd@<name>       mmd.py          MMD-AE (latent 2) vs AE-z1; kernel/bandwidth/λ grid
    study_digits                 digits.py       bottleneck 2/4/8 on sklearn digits (+ RF probe)
    study_fmnist_ae_vs_vae@<n>   ae_vs_vae.py    MLP AE vs VAE on binarized Fashion-MNIST
    tune@<name>                  tune.py         Optuna TPE vs random vs grid, k-fold CV
    study_gan_backbones@<name>   gan_backbones.py  conv vs MLP GAN players: samples, forest, Fréchet

The random-forest probe of classify@<variant> lives in aelab.probe.
"""
