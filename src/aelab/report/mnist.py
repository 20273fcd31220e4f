"""Sections of the MNIST study: the original and its modifications, then one per task."""

from __future__ import annotations

from .common import (auroc, cell_num, cell_rate, ev, health, image_variants, knn_rate, levels,
                     rf_rate, test_loss)
from .gather import Run
from .render import Section
from .text import are, best_of, compare_rates, names, num, ratio, tied_with_best

ORIGINAL, AE_TWIN = "mnist_conv_vae_z2", "mnist_conv_ae_z2"


def reference_of(run: Run, name: str) -> str | None:
    """What a MNIST modification is compared with: conv AE variants with their AE twin of the
    original, the twin and the MLP/stacked/GAN variants with the original itself."""
    if name in (ORIGINAL,):
        return None
    if name == AE_TWIN:
        return ORIGINAL if ORIGINAL in run.train else None
    model = run.params.variants[name].model
    if model == "conv_ae" and AE_TWIN in run.train:
        return AE_TWIN
    return ORIGINAL if ORIGINAL in run.train else None


def mnist_study(run: Run) -> Section:
    s = Section("mnist", "MNIST: the Keras conv VAE and its modifications",
                "What does each modification of the Keras example (architecture, latent size, loss, "
                "colour) change in what the model learns, and at what training cost?")
    mnist = run.variants(dataset="mnist")
    if not mnist:
        return s
    s.ran = [f"`{n}`: {run.description(n)}" for n in mnist]
    header = ["variant", "epochs", "fit s", "test loss", "MSE/pixel", "kNN-5 on codes",
              "RF on reconstructions", "AUROC vs OOD", "health"]
    rows = []
    for n in mnist:
        loss, units = test_loss(run, n)
        rows.append([n, run.train[n].get("epochs"), cell_num(run.fit_seconds(n), 3),
                     f"{num(loss)} {units}".strip(), cell_num(ev(run, n, "reconstruct.test.mse_per_pixel")),
                     cell_rate(knn_rate(run, n)), cell_rate(rf_rate(run, n)),
                     auroc(run, n).num() if auroc(run, n) else "n/a", health(run, n)])
    s.table = (header, rows)
    s.findings += _original_sentences(run)
    s.findings += [line for n in mnist if (line := _kl_sentence(run, n))]
    for n in mnist:
        ref = reference_of(run, n)
        a, b = rf_rate(run, n), rf_rate(run, ref) if ref else None
        if ref and a and b:
            sentence = (f"`{n}` ({run.description(n) or n}): "
                        + compare_rates(f"`{n}`", a, f"`{ref}`", b, "forest accuracy on reconstructions"))
            ma, mb = (ev(run, x, "reconstruct.test.mse_per_pixel") for x in (n, ref))
            if ma and mb:
                sentence += f" Reconstruction MSE {num(ma)} vs {num(mb)} per pixel ({ratio(ma, mb)}; one run each)."
            s.findings.append(sentence)
    secs = {n: run.fit_seconds(n) for n in mnist}
    fast, slow = best_of(secs, True), best_of(secs, False)
    if fast and slow:
        s.findings.append(f"Training cost on this machine: from {fast[1]:.0f} s (`{fast[0]}`) to "
                          f"{slow[1]:.0f} s (`{slow[0]}`).")
    for n, fig, cap in ((ORIGINAL, "reconstruct.png", "the original's test reconstructions (top: input)"),
                        (ORIGINAL, "latent.png", "the original's 2-D codes of test digits, coloured by label"),
                        (AE_TWIN, "reconstruct.png", "the plain-AE twin's test reconstructions")):
        p = run.plot("eval", n, fig)
        if p:
            s.figures.append((p, f"`{n}`: {cap}"))
    s.notes.append("kNN-5 and forest accuracies are on held-out test digits with Wilson 95% intervals; "
                   "losses and MSE are single runs (no spread is measured for them).")
    return s


def _original_sentences(run: Run) -> list[str]:
    if ORIGINAL not in run.train:
        return []
    loss, units = test_loss(run, ORIGINAL)
    out = (f"The original `{ORIGINAL}` ({run.train[ORIGINAL].get('params', 0):,} parameters, "
           f"{run.train[ORIGINAL].get('epochs')} epochs) reaches a test loss of {num(loss)} {units}")
    kl = run.train[ORIGINAL].get("test", {}).get("kl_nats")
    if kl is not None:
        out += f" (of which KL {num(kl)} nats)"
    knn, rf, orig = knn_rate(run, ORIGINAL), rf_rate(run, ORIGINAL), rf_rate(run, ORIGINAL, "test_originals")
    if knn:
        out += f"; its 2-D codes sort test digits at kNN-5 accuracy {knn.pct()}"
    if rf and orig:
        out += f"; the forest reads {rf.pct()} of its reconstructions vs {orig.pct()} of the originals"
    return [out + "."]


def _kl_sentence(run: Run, n: str) -> str | None:
    """How much KL a VAE's strongest latent dimension carries (what the posterior-collapse check reads)."""
    top, total = ev(run, n, "latent.kl_nats_max_dim"), ev(run, n, "latent.kl_nats")
    if top is None or n == ORIGINAL:  # the original's KL is in its own sentence
        return None
    dim, active = ev(run, n, "latent.dim"), ev(run, n, "latent.active_dims")
    line = f"`{n}`: its strongest latent dimension carries {num(top, 3)} nats of test KL"
    if total is not None and dim:
        line += f" of {num(total, 3)} in total over {dim} dimensions" + (f" ({active} active)" if active is not None else "")
    checks = run.eval.get(n, {}).get("health")
    w = ((checks or {}).get("warnings") or {}).get("posterior_collapse")
    if w:
        line += f"; the posterior-collapse check fired (no dimension reaches {num(w.get('threshold'))} nats)"
    elif checks is not None:
        line += "; the posterior-collapse check did not fire: the decoder uses the code"
    return line + "."


def _task_rows(run: Run, task_names: list[str], cells) -> list[list]:
    return [[n, *cells(n)] for n in task_names]


def denoising(run: Run) -> Section:
    s = Section("denoise", "Task: denoising",
                "Does passing a noisy image through the autoencoder remove the noise?")
    vs = [n for n in image_variants(run) if ev(run, n, "denoise.gauss_0.5.gain") is not None
          or levels(run, [n], "denoise.")]
    lv = levels(run, vs, "denoise.")
    if not vs or not lv:
        return s
    s.ran = [f"Gaussian noise (σ) and salt-and-pepper (rate) on test images of every image variant: "
             f"levels {', '.join(lv)}; the gain is MSE(noisy, clean) / MSE(reconstruction, clean), "
             f"so > 1 means the model removed noise."]
    s.table = (["variant"] + [f"gain {x}" for x in lv],
               _task_rows(run, vs, lambda n: [cell_num(ev(run, n, f"denoise.{x}.gain"), 3) for x in lv]))
    for x in (lv[0], lv[-1]) if len(lv) > 1 else lv:
        gains = {n: ev(run, n, f"denoise.{x}.gain") for n in vs}
        helped = [n for n, g in gains.items() if g and g > 1]
        best = best_of(gains, False)
        if best:
            n = best[0]
            s.findings.append(
                f"At {x}: {len(helped)} of {len(vs)} models reduce the error (gain > 1); "
                f"{'the best' if helped else 'the closest'}, `{n}`, "
                f"takes it from {num(ev(run, n, f'denoise.{x}.mse_noisy'))} to "
                f"{num(ev(run, n, f'denoise.{x}.mse_recon'))} MSE/pixel ({best[1]:.2g}×).")
    weak = lv[0]
    worse = [n for n in vs if (ev(run, n, f"denoise.{weak}.gain") or 0) < 1]
    if worse:
        s.findings.append(f"At the weakest level ({weak}) the noise is smaller than the models' own "
                          f"reconstruction error, so {names(worse)} return images further from the clean "
                          "ones than the noisy input was.")
    _add_figure(run, s, "denoise", best_of({n: ev(run, n, f"denoise.{lv[-1]}.gain") for n in vs}, False),
                "denoise.png", "noisy inputs and their reconstructions")
    s.notes.append("One run per model; the gains have no interval.")
    return s


def inpainting(run: Run) -> Section:
    s = Section("inpaint", "Task: inpainting",
                "Can the autoencoder fill a missing region better than the average training image does?")
    vs = [n for n in image_variants(run) if levels(run, [n], "inpaint.")]
    lv = levels(run, vs, "inpaint.")
    if not vs:
        return s
    s.ran = [f"Holes cut in test images ({', '.join(lv)}); error = MSE inside the hole, against a "
             "baseline that fills the hole with the mean training image."]
    header = ["variant"] + [f"{x}: model / mean fill" for x in lv]
    s.table = (header, _task_rows(run, vs, lambda n: [
        f"{num(ev(run, n, f'inpaint.{x}.mse_hole_recon'))} / {num(ev(run, n, f'inpaint.{x}.mse_hole_meanfill'))}"
        for x in lv]))
    for x in lv:
        beat = [n for n in vs if (ev(run, n, f"inpaint.{x}.mse_hole_recon") or 1e9)
                < (ev(run, n, f"inpaint.{x}.mse_hole_meanfill") or -1)]
        best = best_of({n: _inpaint_ratio(run, n, x) for n in vs}, True)
        line = f"{x}: {len(beat)} of {len(vs)} models beat the mean fill"
        if best:
            line += f"; the best, `{best[0]}`, has {1 / best[1]:.2g}× lower hole error than it" if best[1] < 1 \
                else f"; even the best, `{best[0]}`, is {best[1]:.2g}× worse than it"
        s.findings.append(line + ".")
    _add_figure(run, s, "inpaint", best_of({n: _inpaint_ratio(run, n, lv[0]) for n in vs}, True),
                "inpaint.png", "images with the hole and the model's fill")
    s.notes.append("One run per model; the hole errors have no interval.")
    return s


def _inpaint_ratio(run: Run, n: str, x: str):
    a, b = ev(run, n, f"inpaint.{x}.mse_hole_recon"), ev(run, n, f"inpaint.{x}.mse_hole_meanfill")
    return a / b if a is not None and b else None


def anomaly(run: Run) -> Section:
    s = Section("anomaly", "Task: anomaly detection",
                "Does reconstruction error tell images of the training distribution from another dataset?")
    vs = [n for n in image_variants(run) if auroc(run, n)]
    if not vs:
        return s
    ood = sorted({f"{run.params.variants[n].dataset} → {ev(run, n, 'anomaly.ood_dataset')}" for n in vs})
    s.ran = [f"Score = reconstruction error per image; AUROC of in-distribution test images against "
             f"out-of-distribution ones ({'; '.join(ood)}), with a stratified bootstrap 95% interval."]
    s.table = (["variant", "OOD set", "AUROC", "FPR at 95% TPR", "mean score in / OOD"],
               _task_rows(run, vs, lambda n: [
                   ev(run, n, "anomaly.ood_dataset"), auroc(run, n).num(),
                   cell_rate(_fpr(run, n)),
                   f"{num(ev(run, n, 'anomaly.score_in_mean'))} / {num(ev(run, n, 'anomaly.score_ood_mean'))}"]))
    rates = {n: auroc(run, n) for n in vs}
    best, tied = tied_with_best(rates)
    line = f"Best AUROC: `{best}` {rates[best].num()}"
    line += (f"; {names(tied)} {are(tied)} within its 95% interval, so the run does not rank them." if tied
             else "; no other model's interval reaches it.")
    s.findings.append(line)
    weak = [n for n, r in rates.items() if r.lo is not None and r.lo < 0.6]
    if weak:
        s.findings.append(f"{names(weak)} have an interval reaching below 0.6: their reconstruction error "
                          "barely separates the two datasets.")
    _add_figure(run, s, "anomaly", (best, 0), "anomaly_scores.png", "score histograms, in-distribution vs OOD")
    return s


def _fpr(run: Run, n: str):
    from .text import rate

    return rate(run.eval.get(n), "anomaly.fpr_at_95tpr")


def generation(run: Run) -> Section:
    s = Section("generate", "Task: generation",
                "Do samples from the model look like the training classes, and all of them?")
    vs = [n for n in image_variants(run) if run.rf.get(n, {}).get("samples")]
    if not vs:
        return s
    s.ran = ["Samples from the prior (VAE, GAN) or from a Gaussian mixture fitted to training codes "
             "(plain AEs); the random forest trained on real images labels them."]
    rows = []
    for n in vs:
        smp = run.rf[n]["samples"]
        rows.append([n, smp.get("sampler"), smp.get("n"), smp.get("classes_seen"),
                     cell_rate(_top(smp)), cell_num(smp.get("mean_max_prob"), 3),
                     cell_num(ev(run, n, "generate.nearest_train_mse_per_pixel"))])
    s.table = (["variant", "sampler", "samples", "classes seen", "top class share", "forest confidence",
                "MSE to nearest training image"], rows)
    few = [n for n in vs if (run.rf[n]["samples"].get("classes_seen") or 0)
           < len(run.rf[n].get("reconstruction_class_fraction") or {}) / 2]
    by_ds: dict[str, list[str]] = {}
    for n in vs:
        by_ds.setdefault(run.params.variants[n].dataset, []).append(n)
    for ds, group in by_ds.items():  # confidence is only comparable within one dataset's forest
        conf = best_of({n: run.rf[n]["samples"].get("mean_max_prob") for n in group}, False)
        if conf and len(group) > 1:
            low = best_of({n: run.rf[n]["samples"].get("mean_max_prob") for n in group}, True)
            s.findings.append(f"{ds}: the forest is most confident about the samples of `{conf[0]}` (mean "
                              f"top-class probability {conf[1]:.2f}) and least about `{low[0]}` ({low[1]:.2f}).")
    if few:
        s.findings.append(f"{names(few)} show fewer than half of the classes among their samples "
                          "(mode collapse or a code space the sampler misses).")
    else:
        s.findings.append("Every model's samples cover at least half of the classes.")
    for n in (ORIGINAL, "mnist_gan"):
        if n in vs:
            _add_figure(run, s, "generate", (n, 0), "generate.png", "samples")
    return s


def _top(samples: dict):
    from .text import rate

    return rate(samples, "top_class_fraction")


def _add_figure(run: Run, s: Section, _task: str, pick, fig: str, caption: str) -> None:
    if not pick:
        return
    p = run.plot("eval", pick[0], fig)
    if p:
        s.figures.append((p, f"`{pick[0]}`: {caption}"))
