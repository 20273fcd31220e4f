"""benchmarks/train_speed.py compares like with like: the plain loop's model, loss and step
match the project's, and one tiny synthetic run writes the JSON the README points at."""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import inspect
import json
import math
import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "train_speed.py"
CASES = ["fmnist_mlp_vae", "mnist_conv_vae"]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("train_speed", BENCH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses resolve string annotations through it
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module", params=CASES)
def case(bench, request):
    return bench.load_case(request.param, synthetic=True, subset=256, n_test=128)


def test_plain_side_imports_nothing(bench):
    for fn in (bench.PlainVAE, bench.plain_mlp_vae, bench.plain_conv_vae, bench.plain_eval, bench.plain_fit):
        assert "import" not in inspect.getsource(fn), fn.__name__


def test_same_parameter_count_and_init(bench, case):
    a, b, _ = bench.build_pair(case, seed=3)  # raises if counts or initial weights differ
    assert bench.n_params(a) == bench.n_params(b) == a.n_params
    expected = {"fmnist_mlp_vae": 535_828, "mnist_conv_vae": 134_165}[case.name]
    assert a.n_params == expected


def test_one_step_gives_the_same_loss(bench, case):
    torch.manual_seed(0)
    a = bench.project_model(case)
    with torch.no_grad():  # at init KL is ~1e-5 of the loss; scaled codes make it ~1 % so it counts
        a.encoder[-1].weight.mul_(30)
    torch.manual_seed(1)  # a different init, then the project's weights copied over
    b = bench.plain_model(case)
    b.load_state_dict(a.state_dict())
    bs = case.variant.train.batch_size
    one_batch = dataclasses.replace(case, x_train=case.x_train[:bs])

    torch.manual_seed(7)
    out = a(one_batch.x_train)
    assert out.logs["kl_nats"].item() > 0.005 * out.loss.item()
    loss_a = out.loss.item()
    torch.manual_seed(7)
    loss_b = b(one_batch.x_train).item()
    assert math.isclose(loss_a, loss_b, rel_tol=1e-5)

    # one optimizer step each through the real loops, then the test loss after it
    t = case.variant.train
    torch.manual_seed(11)
    secs_a, test_a = bench.project_fit(a, one_batch, 1, 5, torch.device("cpu"))
    torch.manual_seed(11)
    secs_b, test_b = bench.plain_fit(b, one_batch.x_train, one_batch.x_test, epochs=1, batch_size=bs,
                                     lr=t.lr, eval_batch_size=t.eval_batch_size, seed=5, device="cpu",
                                     bf16=t.bf16)
    assert len(secs_a) == len(secs_b) == 1
    assert math.isclose(test_a, test_b, rel_tol=1e-5)


@pytest.mark.slow  # a whole (tiny) benchmark run in a subprocess, ~3 s
def test_tiny_run_writes_the_expected_json(bench, tmp_path):
    out = tmp_path / "bench" / "train_speed.json"
    bench.main(["--synthetic", "--subset", "256", "--pairs", "1", "--epochs", "1", "--threads", "1",
                "--out", str(out)])
    data = json.loads(out.read_text())
    assert {"benchmark", "note", "settings", "machine", "load", "cases"} <= data.keys()
    assert {"platform", "cpu_count", "torch", "torch_threads"} <= data["machine"].keys()
    assert len(data["load"]["before"]) == len(data["load"]["after"]) == 3
    assert sorted(data["cases"]) == sorted(CASES)
    for r in data["cases"].values():
        assert {"ratio_best", "ratio_median", "test_loss_rel_diff", "params", "n_train"} <= r.keys()
        for side in ("project", "plain"):
            s = r[side]
            assert {"best_samples_per_s", "median_samples_per_s", "test_loss_mean", "runs"} <= s.keys()
            assert s["best_samples_per_s"] > 0 and len(s["runs"]) == 1
        # same seed, same start, same steps: the two sides land on the same test loss
        assert abs(r["test_loss_rel_diff"]) < 1e-4
    assert not list(out.parent.glob(".*"))  # the atomic writer left no temp file


def test_dvc_overhead_times_the_lock_round_trip_and_counts_what_dvc_reads(tmp_path):
    """benchmarks/dvc_overhead.py: the lock rewrite keeps a lock's text (DVC's round trip),
    and the size counts come from the files and DVC's own stage objects."""
    spec = importlib.util.spec_from_file_location("dvc_overhead", BENCH.with_name("dvc_overhead.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    lock = "schema: '2.0'\nstages:\n  a:\n    cmd: echo\n    params:\n      params.yaml:\n        x: 1\n"
    assert mod.lock_rewrite_seconds(lock) > 0

    class Dep:  # what sizes() reads of a ParamsDependency
        params = ["x", "y"]

    (tmp_path / "dvc.lock").write_text(lock)
    assert mod.sizes(tmp_path, [Dep(), Dep()]) == {"lock_lines": 7, "stages_with_params": 2,
                                                   "declared_param_keys": 4}


def test_inference_layout_bench_times_both_sides_of_one_model():
    """benchmarks/inference_layout.py: both layouts timed on the same model and images,
    their outputs compared."""
    spec = importlib.util.spec_from_file_location("inference_layout", BENCH.with_name("inference_layout.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    from aelab.models import build_model

    torch.manual_seed(0)
    conv = build_model("conv_ae", {"latent_dim": 2}, (1, 28, 28)).eval()
    r = mod.measure(conv, torch.rand(8, 1, 28, 28), pairs=1)
    assert r["n"] == 8 and r["nchw_s"] > 0 and r["channels_last_s"] > 0
    assert r["ratio"] > 0
    assert r["max_abs_diff"] < 1e-4
    assert all(p.is_contiguous() for p in conv.parameters())  # the model measured is left as it was


def test_train_precision_bench_steps_in_both_precisions_and_compares_gradients():
    """benchmarks/train_precision.py: each side trains a copy (the model is left as it was),
    a GAN takes its own D/G step, and gradient errors exist only for deterministic losses,
    bf16's above fp32's."""
    spec = importlib.util.spec_from_file_location("train_precision", BENCH.with_name("train_precision.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    from aelab.core.params import TrainParams
    from aelab.models import build_model

    cfg, cpu, x = TrainParams(batch_size=4), torch.device("cpu"), torch.rand(8, 1, 28, 28)
    torch.manual_seed(0)
    ae = build_model("conv_ae", {"latent_dim": 2}, (1, 28, 28))
    before = copy.deepcopy(ae.state_dict())
    for bf16 in (True, False):
        assert mod.median_step(ae, cfg, x, steps=2, device=cpu, bf16=bf16) > 0
    assert all(torch.equal(before[k], v) for k, v in ae.state_dict().items())
    trained = copy.deepcopy(ae).train()
    mod.step_fn(trained, cfg, cpu, bf16=False)(x[:4])
    assert any(not torch.equal(before[k], v) for k, v in trained.state_dict().items())  # Adam moved it

    errors = mod.gradient_errors(ae, x, cpu)
    assert 0 <= errors["fp32"] < 1e-3 < errors["bf16"], errors
    assert mod.gradient_errors(build_model("conv_vae", {}, (1, 28, 28)), x, cpu) is None  # sampled codes

    gan = build_model("gan", {"latent_dim": 8, "filters": [8, 16]}, (1, 28, 28))
    assert mod.median_step(gan, dataclasses.replace(cfg, lr=2e-4), x, steps=1, device=cpu, bf16=False) > 0
    assert mod.gradient_errors(gan, x, cpu) is None


@pytest.mark.slow  # two fresh processes, each importing torch (~8 s)
def test_denormals_bench_flushes_in_every_thread_of_the_flush_side(tmp_path):
    """benchmarks/denormals.py: the flush side sets flush-to-zero before torch starts its
    threads, so a parallel multiply leaves no denormal and Adam's state holds none; the
    side that keeps them shows them; the same seed trains to the same loss on both."""
    spec = importlib.util.spec_from_file_location("denormals", BENCH.with_name("denormals.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "denormals.json"
    mod.main(["--synthetic", "--subset", "256", "--pairs", "1", "--epochs", "1", "--threads", "2",
              "--out", str(out)])
    r = json.loads(out.read_text())
    keep, flush = r["keep"]["runs"][0], r["flush"]["runs"][0]
    assert keep["threads"] == flush["threads"] == 2
    assert flush["flush_supported"]  # x86-64 and arm64 CPUs have a flush-to-zero mode
    assert flush["denormals_left_by_parallel_multiply"] == 0
    assert keep["denormals_left_by_parallel_multiply"] == 1 << 20
    assert flush["epochs"][0]["denormal_adam_state"] == 0
    assert abs(r["test_loss_rel_diff"]) < 1e-3
    assert r["speedup_median_epoch"] > 0 and r["machine"]["cpu_count"]
