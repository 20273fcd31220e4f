"""The RBM against scikit-learn's BernoulliRBM, and its binarization and PCD chains.

scikit-learn is the reference for the study's numbers: the same weights loaded into
`BernoulliRBM` (components_ = Wᵀ, intercept_hidden_ = b_h, intercept_visible_ = b_v) must
give the same free energy, the same pseudo-likelihood for the same flipped pixels (its
`score_samples` draws them from a fresh RandomState(random_state), reproduced here) and
the same parameter update as its `_fit` (PCD-1, probabilities in both phases).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.neural_network import BernoulliRBM

from aelab.models import build_model
from aelab.core.params import TrainParams
from aelab.train import fit

torch.set_num_threads(1)

SHAPE = (1, 28, 28)
D, H = 784, 32


def _pair(seed: int = 0):
    """(our RBM in float64 with random non-trivial weights, BernoulliRBM with the same)."""
    model = build_model("rbm", {"latent_dim": H}, SHAPE).double()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        model.W.copy_(torch.randn(D, H, generator=g, dtype=torch.float64) * 0.3)
        model.b_v.copy_(torch.randn(D, generator=g, dtype=torch.float64))
        model.b_h.copy_(torch.randn(H, generator=g, dtype=torch.float64) * 0.5)
    sk = BernoulliRBM(n_components=H, random_state=7)
    sk.components_ = model.W.detach().numpy().T.copy()  # (H, D)
    sk.intercept_hidden_ = model.b_h.detach().numpy().copy()
    sk.intercept_visible_ = model.b_v.detach().numpy().copy()
    sk.n_features_in_ = D
    return model, sk


def _binary(n: int, seed: int = 1) -> np.ndarray:
    """(n, D) binary images: Bernoulli draws with a digit-like share (~20%) of pixels on."""
    rng = np.random.default_rng(seed)
    return (rng.random((n, D)) < rng.uniform(0.05, 0.4, (n, 1))).astype(np.float64)


def test_free_energy_matches_sklearn():
    model, sk = _pair()
    x = _binary(50)
    ours = model.free_energy(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(ours, sk._free_energy(x), rtol=0, atol=1e-8)


def test_pseudo_likelihood_matches_sklearn_score_samples():
    model, sk = _pair()
    x = _binary(200)
    # score_samples flips pixel rng.randint(0, D, N) of each row, rng = RandomState(random_state)
    flip = np.random.RandomState(sk.random_state).randint(0, D, len(x))
    expected = sk.score_samples(x)
    ours = model.pseudo_likelihood(torch.from_numpy(x), torch.from_numpy(flip)).numpy()
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-4)
    assert expected.std() > 1  # the weights are not trivial: the check has something to check


def test_pseudo_likelihood_matches_sklearn_free_energy_on_fixed_pixels():
    model, sk = _pair(seed=3)
    x = _binary(100, seed=4)
    for pixel in (0, 400, D - 1):  # the same fixed choice on both sides
        flipped = x.copy()
        flipped[:, pixel] = 1 - flipped[:, pixel]
        expected = D * -np.logaddexp(0, -(sk._free_energy(flipped) - sk._free_energy(x)))
        ours = model.pseudo_likelihood(torch.from_numpy(x), torch.full((len(x),), pixel)).numpy()
        np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-4)


def test_pseudo_likelihood_in_float32_stays_close():
    """The trained model runs in float32: the one-flip form keeps it near the float64 value."""
    model, sk = _pair()
    x = _binary(200)
    flip = np.random.RandomState(sk.random_state).randint(0, D, len(x))
    ours = model.float().pseudo_likelihood(torch.from_numpy(x).float(), torch.from_numpy(flip))
    np.testing.assert_allclose(ours.numpy(), sk.score_samples(x), rtol=1e-5, atol=1e-3)


def test_pcd_update_matches_sklearn_fit():
    """One PCD-1 step: our loss gradient × lr equals BernoulliRBM._fit's update, given the
    same persistent hidden state and the same uniforms for the negative visibles."""
    model, sk = _pair()
    v_pos = _binary(10)
    sk.learning_rate, sk.h_samples_ = 0.1, (np.random.default_rng(5).random((10, H)) < 0.5) * 1.0
    p_neg = 1 / (1 + np.exp(-(sk.h_samples_ @ sk.components_ + sk.intercept_visible_)))
    v_neg = (np.random.RandomState(11).uniform(size=p_neg.shape) < p_neg) * 1.0  # as _sample_visibles
    before = (sk.components_.copy(), sk.intercept_hidden_.copy(), sk.intercept_visible_.copy())
    sk._fit(v_pos, np.random.RandomState(11))
    loss = model.free_energy(torch.from_numpy(v_pos)).mean() - model.free_energy(torch.from_numpy(v_neg)).mean()
    loss.backward()
    np.testing.assert_allclose(-0.1 * model.W.grad.numpy().T, sk.components_ - before[0], atol=1e-10)
    np.testing.assert_allclose(-0.1 * model.b_h.grad.numpy(), sk.intercept_hidden_ - before[1], atol=1e-10)
    np.testing.assert_allclose(-0.1 * model.b_v.grad.numpy(), sk.intercept_visible_ - before[2], atol=1e-10)


@pytest.mark.parametrize("mode", ["dynamic", "threshold", "none"])
def test_binarize_modes(mode):
    model = build_model("rbm", {"latent_dim": 8, "binarize": mode}, SHAPE)
    x = torch.full((400, D), 0.3)
    x[:, :10] = 0.7
    v = model.binarize(x)
    if mode == "none":
        assert torch.equal(v, x)
        return
    assert set(v.unique().tolist()) <= {0.0, 1.0}
    if mode == "threshold":
        assert v[:, :10].all() and not v[:, 10:].any()
    else:  # a Bernoulli draw: on-rate ≈ the grey level
        assert abs(float(v[:, 10:].mean()) - 0.3) < 0.01 and abs(float(v[:, :10].mean()) - 0.7) < 0.03


def test_forward_logs_pseudo_likelihood_on_binarized_input():
    torch.manual_seed(0)
    model = build_model("rbm", {"latent_dim": 16}, SHAPE)
    out = model(torch.rand(64, *SHAPE))
    assert set(out.logs) == {"cd_loss", "recon_mse", "pseudo_ll"}
    pll = float(out.logs["pseudo_ll"])
    # an untrained RBM (W ≈ 0, b = 0) is a fair coin per pixel: every flip costs about
    # log σ(0) = −log 2 (±D·|ΔF|/2 per image, |ΔF| ~ 0.01 at init_std 0.01: ~1% noise)
    assert pll == pytest.approx(-D * np.log(2), rel=0.03)


def test_pcd_chains_persist_start_from_noise_and_only_training_advances_them():
    model = build_model("rbm", {"latent_dim": 16, "pcd": True, "pcd_chains": 6}, SHAPE)
    x = torch.zeros(4, *SHAPE)  # all-black data: chains that started at the data would be black
    torch.manual_seed(0)
    model.train()
    model(x)
    first = model.chains.clone()
    assert first.shape == (6, D) and 0.3 < float(first.mean()) < 0.7  # σ(b_v = 0): fair coins
    model.eval()
    with torch.inference_mode():
        model(x)
    assert torch.equal(model.chains, first)  # evaluation reads the chains, never moves them
    model.train()
    model(x)
    assert not torch.equal(model.chains, first)
    assert "chains" not in model.state_dict()  # training state, not a weight


def test_cd_mode_has_no_chains():
    model = build_model("rbm", {"latent_dim": 16, "pcd": False}, SHAPE)
    model(torch.rand(4, *SHAPE))
    assert model.chains is None


def test_pcd_training_raises_the_pseudo_likelihood():
    """fit() on 200 binary 'stroke' images: the logged test pseudo-likelihood climbs."""
    g = torch.Generator().manual_seed(0)
    x = torch.zeros(200, *SHAPE)
    for i in range(200):  # a vertical or horizontal bar at a random place
        k = int(torch.randint(4, 24, (1,), generator=g))
        if i % 2:
            x[i, 0, 4:24, k:k + 3] = 1
        else:
            x[i, 0, k:k + 3, 4:24] = 1
    model = build_model("rbm", {"latent_dim": 32, "pcd": True}, SHAPE)
    torch.manual_seed(0)
    cfg = TrainParams(epochs=6, batch_size=10, lr=0.005, optimizer="sgd")
    res = fit(model, x[:160], x[160:], cfg, torch.device("cpu"))
    curve = [r["test/pseudo_ll"] for r in res.history]
    assert curve[-1] > curve[0] + 100, curve  # from −D·log 2 ≈ −543 towards 0


# ---- Gibbs chains the studies use (study_rbm) ----

def _hand_rbm():
    """D = 3 visible, H = 2 hidden, weights set by hand (float64)."""
    model = build_model("rbm", {"latent_dim": 2}, (1, 1, 3)).double()
    with torch.no_grad():
        model.W.copy_(torch.tensor([[1.0, -2.0], [0.5, 0.0], [-1.0, 3.0]], dtype=torch.float64))  # (D, H)
        model.b_v.copy_(torch.tensor([0.0, 1.0, -0.5], dtype=torch.float64))
        model.b_h.copy_(torch.tensor([0.5, -1.0], dtype=torch.float64))
    return model


def test_conditionals_match_a_hand_computation():
    model = _hand_rbm()
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    # v = (1, 0, 1): hidden inputs 1 − 1 + 0.5 = 0.5 and −2 + 3 − 1 = 0
    p_h = model.encode(torch.tensor([[[[1.0, 0.0, 1.0]]]], dtype=torch.float64))
    np.testing.assert_allclose(p_h.detach().numpy(), [[sig(0.5), 0.5]], rtol=0, atol=1e-12)
    # h = (1, 0): visible inputs W[:, 0] + b_v = (1, 1.5, −1.5); h = (0, 1): (−2, 1, 2.5)
    p_v = model.decode(torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)).reshape(2, 3)
    np.testing.assert_allclose(p_v.detach().numpy(), [[sig(1.0), sig(1.5), sig(-1.5)], [sig(-2.0), sig(1.0), sig(2.5)]],
                               rtol=0, atol=1e-12)


def _coupled_rbm():
    """4 pixels tied by one hidden unit: p(h | v) = σ(6 Σv − 9), p(v_i | h) = σ(6h − 3)."""
    model = build_model("rbm", {"latent_dim": 1}, (1, 2, 2))
    with torch.no_grad():
        model.W.fill_(6.0)
        model.b_h.fill_(-9.0)
        model.b_v.fill_(-3.0)
    return model


def test_clamped_chain_keeps_the_known_pixels_and_follows_them():
    model, _ = _pair()
    g = torch.Generator().manual_seed(0)
    v = torch.from_numpy(_binary(64))  # (64, D) binary
    known = torch.rand(64, D, generator=g, dtype=torch.float64) < 0.6
    out = model.gibbs_clamped(v, known, steps=25, generator=g)
    assert out.shape == v.shape
    assert torch.equal(out[known], v[known])  # clamped, bit for bit
    hole = out[~known]
    assert ((hole >= 0) & (hole <= 1)).all() and not torch.equal(hole, v[~known])  # probabilities, filled
    # the hole follows the clamped pixels: three pixels on → the fourth likely on, off → off
    coupled, n = _coupled_rbm(), 400
    known = torch.tensor([True, True, True, False]).expand(n, 4)
    on = coupled.gibbs_clamped(torch.ones(n, 4), known, 10, torch.Generator().manual_seed(1))
    off = coupled.gibbs_clamped(torch.zeros(n, 4), known, 10, torch.Generator().manual_seed(1))
    assert float(on[:, 3].mean()) == pytest.approx(float(torch.sigmoid(torch.tensor(3.0))), abs=0.01)
    assert float(off[:, 3].mean()) == pytest.approx(float(torch.sigmoid(torch.tensor(-3.0))), abs=0.01)
    assert torch.equal(on[:, :3], torch.ones(n, 3)) and torch.equal(off[:, :3], torch.zeros(n, 3))


def test_gibbs_chain_shapes_range_and_seeding():
    model, _ = _pair()
    v = torch.from_numpy(_binary(8))
    a = model.gibbs_chain(v, [5, 1, 2], torch.Generator().manual_seed(3))
    b = model.gibbs_chain(v, [1, 2, 5], torch.Generator().manual_seed(3))
    assert len(a) == 3 and all(p.shape == (8, D) for p in a)
    assert all(((p >= 0) & (p <= 1)).all() for p in a)
    assert all(torch.equal(x, y) for x, y in zip(a, b))  # ascending order, same draws
    assert not torch.equal(a[0], a[2])  # the chain moves
    with pytest.raises(ValueError, match=r"^steps must be >= 1, got \[0, 1\]$"):
        model.gibbs_chain(v, [0, 1])
    # a chain that starts with all four coupled pixels on stays there (p = σ(3) each step)
    coupled = _coupled_rbm()
    (p,) = coupled.gibbs_chain(torch.ones(300, 4), [1], torch.Generator().manual_seed(0))
    assert float(p.mean()) == pytest.approx(float(torch.sigmoid(torch.tensor(3.0))), abs=0.01)
