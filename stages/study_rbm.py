"""study_rbm@<name>: the Bernoulli RBM: lr × hidden grid of pseudo-likelihood curves, Gibbs steps from test digits, inpainting by a clamped chain, weight images; the same for a DBM (dbm_variant) with samples of both compared: metrics/studies/rbm_<name>.json, plots/studies/rbm_<name>/."""

from aelab.cli import stage_main
from aelab.studies.rbm import study_rbm

if __name__ == "__main__":
    stage_main("study_rbm", study_rbm, target="name", doc=__doc__)
