"""The three discussion questions of the MNIST study: latent size, training vs test samples,
residual blocks."""

from __future__ import annotations

from .common import auroc, cell_num, cell_rate, ev, health, image_variants, levels, rf_rate, test_loss
from .gather import Run
from .render import Section
from .text import compare_rates, names, num, rate, ratio

LATENT_RULE = ("the smallest latent size whose forest accuracy on reconstructions lies within the 95% "
               "interval of the best size's (no measurable loss of class information)")


def latent_size(run: Run) -> Section:
    s = Section("latent-size", "Choosing a latent size",
                "Which latent size should one use, judged from the measured curve?")
    groups = {}
    for n in run.variants():
        v = run.params.variants[n]
        cfg = getattr(v, "model_args", {}) or {}
        size = cfg.get("latent_dim")
        if size is None or rf_rate(run, n) is None:
            continue
        family = (v.dataset, v.model, cfg.get("loss", "bce"), _arch_key(cfg))
        groups.setdefault(family, {})[int(size)] = n
    rows, recs = [], []
    for (dataset, model, _, _), by_size in groups.items():
        if len(by_size) < 2:
            continue
        rates = {z: rf_rate(run, n) for z, n in sorted(by_size.items())}
        best = max(rates, key=lambda z: rates[z].value)
        pick = min(z for z, r in rates.items() if r.overlaps(rates[best]))
        for z, n in sorted(by_size.items()):
            rows.append([f"{dataset} / {model}", z, n, cell_num(ev(run, n, "reconstruct.test.mse_per_pixel")),
                         cell_rate(rates[z]), "← recommended" if z == pick else ""])
        sizes = ", ".join(map(str, sorted(by_size)))
        if pick == best:
            recs.append(f"{dataset} ({model}, sizes {sizes}): latent size {pick}, the best measured — no smaller "
                        f"size comes within its interval (forest reads {rates[pick].pct()} of its reconstructions).")
        else:
            recs.append(f"{dataset} ({model}, sizes {sizes}): latent size {pick} (forest reads {rates[pick].pct()} "
                        f"of its reconstructions, within the interval of the best size {best}: {rates[best].pct()}).")
    if not rows:
        return s
    s.ran = [f"Rule: {LATENT_RULE}. Families = variants that differ only in latent size."]
    s.findings = recs + ["Only the sizes listed were trained; a size between them might do as well."]
    s.table = (["family", "latent size", "variant", "MSE/pixel", "RF on reconstructions", ""], rows)
    p = run.plot("studies", "digits", "bottleneck.png")
    if p:
        s.figures.append((p, "digits: error and forest accuracy against bottleneck size"))
    return s


def _arch_key(cfg: dict) -> str:
    """Settings other than the latent size that make variants incomparable."""
    keep = {k: v for k, v in cfg.items() if k not in ("latent_dim", "description")}
    return repr(sorted(keep.items()))


# the corruption tasks' error on training images (evaluate.train_side), one measure each
TRAIN_SIDE = (("denoise", "mse_recon", "denoising error (MSE vs the clean image)", "noise levels"),
              ("inpaint", "mse_hole_recon", "inpainting error inside the hole", "masks"))


def train_vs_test(run: Run) -> Section:
    s = Section("train-vs-test", "Training vs test samples",
                "Would the results differ on training samples?")
    vs = [n for n in image_variants(run) if ev(run, n, "reconstruct.train.mse_per_pixel") is not None]
    if not vs:
        return s
    sided = [n for n in vs if ev(run, n, "denoise.n_train") or ev(run, n, "anomaly.train.n_in")]
    s.ran = ["Reconstruction error on a training subset next to the test set (evaluate@), and the forest's "
             "accuracy on training vs test reconstructions (classify@). "
             + ("Denoising, inpainting and anomaly detection also score as many training images as test images "
                "(same noise draws and holes; for anomaly detection the same OOD images)."
                if sided else "The other tasks run on test images only.")]
    rows, overlap, gaps = [], [], {}
    corrupt = {task: _median_ratios(run, vs, task, m) for task, m, _, _ in TRAIN_SIDE}
    for n in vs:
        tr, te = ev(run, n, "reconstruct.train.mse_per_pixel"), ev(run, n, "reconstruct.test.mse_per_pixel")
        gaps[n] = te / tr if tr else None
        a, b = rf_rate(run, n, "train_reconstructions"), rf_rate(run, n)
        if a and b and a.overlaps(b):
            overlap.append(n)
        row = [n, num(tr), num(te), num(gaps[n], 3), cell_rate(a), cell_rate(b)]
        if sided:
            at, bt = rate(run.eval.get(n), "anomaly.train.auroc"), auroc(run, n)
            row += [num(corrupt["denoise"].get(n), 3), num(corrupt["inpaint"].get(n), 3),
                    f"{at.num()} / {bt.num()}" if at and bt else "n/a"]
        rows.append(row)
    header = ["variant", "train MSE/pixel", "test MSE/pixel", "test / train", "RF on train reconstructions",
              "RF on test reconstructions"]
    if sided:
        header += ["denoise test / train", "inpaint test / train", "AUROC train / test in-distribution"]
    s.table = (header, rows)
    ok = {k: v for k, v in gaps.items() if v}
    if ok:
        worst = max(ok, key=ok.get)
        s.findings.append(f"The largest generalisation gap is `{worst}`: its test error is {ok[worst]:.2f}× its "
                          f"training error; the median over {len(ok)} variants is "
                          f"{sorted(ok.values())[len(ok) // 2]:.2f}×.")
    with_rf = [n for n in vs if rf_rate(run, n, "train_reconstructions")]
    if with_rf:
        s.findings.append(f"For {len(overlap)} of {len(with_rf)} variants the forest reads training and test "
                          "reconstructions within each other's 95% intervals: their results would not differ "
                          "measurably on training samples.")
    for task, _, what, over in TRAIN_SIDE:
        r = {n: v for n, v in corrupt[task].items() if v}
        if r:
            worst = max(r, key=r.get)
            s.findings.append(f"The {what} on test images is a median {sorted(r.values())[len(r) // 2]:.2f}× that "
                              f"on training images over {len(r)} variants (each the median over its {over}; one "
                              f"run each, no interval); largest: `{worst}`, {r[worst]:.2f}×.")
    s.findings += _anomaly_sides(run, vs)
    return s


def _median_ratios(run: Run, vs: list[str], task: str, metric: str) -> dict[str, float]:
    """Per variant: the median over the task's levels of test / train `metric`."""
    out = {}
    for n in vs:
        r = sorted(te / tr for x in levels(run, [n], f"{task}.")
                   if (te := ev(run, n, f"{task}.{x}.{metric}")) is not None
                   and (tr := ev(run, n, f"{task}.{x}.train.{metric}")))
        if r:
            out[n] = r[len(r) // 2]
    return out


def _anomaly_sides(run: Run, vs: list[str]) -> list[str]:
    pairs = {n: (rate(run.eval.get(n), "anomaly.train.auroc"), auroc(run, n)) for n in vs}
    pairs = {n: (a, b) for n, (a, b) in pairs.items() if a and b}
    if not pairs:
        return []
    apart = [n for n, (a, b) in pairs.items() if not a.overlaps(b)]
    line = (f"Anomaly detection with training images as the in-distribution set (same OOD images): for "
            f"{len(pairs) - len(apart)} of {len(pairs)} variants its AUROC and the test AUROC are within each "
            "other's 95% intervals, so it would not differ measurably on training samples")
    if apart:
        higher = [n for n in apart if pairs[n][0].value > pairs[n][1].value]
        line += f"; for {names(apart)} the intervals do not overlap"
        if higher:
            line += f" (higher on training images: {names(higher)})"
    return [line + "."]


def residual(run: Run) -> Section:
    s = Section("residual", "Do residual blocks help?",
                "Same network with and without skip connections: does the residual version learn better or faster?")
    res, plain = "mnist_res_conv_ae", "mnist_plain_conv_ae"
    if not (res in run.train and plain in run.train):
        return s
    s.ran = [f"`{res}`: {run.description(res)}", f"`{plain}`: {run.description(plain)}"]
    rows = []
    for n in (res, plain):
        loss, units = test_loss(run, n)
        rows.append([n, run.train[n].get("epochs"), cell_num(run.fit_seconds(n), 3), f"{num(loss)} {units}",
                     num(ev(run, n, "reconstruct.test.mse_per_pixel")), cell_rate(rf_rate(run, n)), health(run, n)])
    s.table = (["variant", "epochs", "fit s", "test loss", "MSE/pixel", "RF on reconstructions", "health"], rows)
    a, b = rf_rate(run, res), rf_rate(run, plain)
    if a and b:
        s.findings.append(compare_rates("with skips", a, "without", b, "Forest accuracy on reconstructions"))
    la, lb = test_loss(run, res)[0], test_loss(run, plain)[0]
    if la and lb:
        s.findings.append(f"Test loss {num(la)} with skips vs {num(lb)} without ({ratio(la, lb)}; one run each).")
    ta, tb = run.fit_seconds(res), run.fit_seconds(plain)
    if ta and tb:
        s.findings.append(f"Training took {ta:.0f} s vs {tb:.0f} s on this machine.")
    for n in (res, plain):
        p = run.plot("eval", n, "reconstruct.png")
        if p:
            s.figures.append((p, f"`{n}`: test reconstructions"))
    return s
