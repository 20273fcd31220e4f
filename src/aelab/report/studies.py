"""Sections of the studies: AE vs VAE, VAE vs GAN, Optuna, digits bottlenecks, the random-forest
table and the photo (emoji) study (two moons and the MMD-AE: report.moons)."""

from __future__ import annotations

import json
import statistics

from ..core import paths
from .common import cell_num, cell_rate, ev, health, rf_rate, test_loss
from .gather import Run
from .render import Section
from .text import Rate, best_of, compare_rates, num, pct, ratio, rate


def _study(run: Run, prefix: str) -> tuple[str, dict] | tuple[None, None]:
    for name, m in run.studies.items():
        if name.startswith(prefix):
            return name, m
    return None, None


def ae_vs_vae(run: Run) -> Section:
    s = Section("ae-vs-vae", "AE vs VAE (binarized Fashion-MNIST)",
                "With the same network, latent size and budget, what does the VAE's KL term cost in "
                "reconstruction, and what does it buy in the code?")
    name, m = _study(run, "fmnist_ae_vs_vae")
    if not m:
        return s
    ae, vae = m["ae"], m["vae"]
    s.ran = [f"`{ae['variant']}` and `{vae['variant']}` ({run.description(vae['variant'])}), "
             f"{m.get('n_test', '?'):,} test images, {m.get('passes')} encode/decode passes for consistency."]
    a_bce, v_bce = ae["test_bce_nats_per_image"], vae["test_bce_nats_per_image"]
    s.findings.append(f"Reconstruction: the VAE's test BCE is {num(v_bce)} nats/image against the AE's "
                      f"{num(a_bce)} ({ratio(v_bce, a_bce)}; one run each); its −ELBO is "
                      f"{num(vae.get('test_neg_elbo_per_image'))} with {num(vae.get('test_kl_nats_per_image'))} "
                      "nats of KL.")
    ka, kv = rate(ae, "latent_knn5_accuracy"), rate(vae, "latent_knn5_accuracy")
    if ka and kv:
        s.findings.append(compare_rates("the AE", ka, "the VAE", kv, "Codes (kNN-5 accuracy on test codes)"))
    ca, cv = ae.get("consistency", {}), vae.get("consistency", {})
    if ca and cv:
        s.findings.append(f"Re-encoding its own output {m.get('passes')} times, the AE drifts by "
                          f"{num(ca.get('drift_mse_after_10'))} MSE/pixel and the VAE by "
                          f"{num(cv.get('drift_mse_after_10'))}.")
    rows = [[role, r["variant"], num(r["test_bce_nats_per_image"]), num(r["test_mse_per_pixel"]),
             cell_rate(rate(r, "latent_knn5_accuracy")), num(r.get("test_kl_nats_per_image"))]
            for role, r in (("AE", ae), ("VAE", vae))]
    s.table = (["", "variant", "test BCE nats/image", "MSE/pixel", "kNN-5 on codes", "KL nats"], rows)
    p = run.plot("studies", name, "comparison.png")
    if p:
        s.figures.append((p, "AE vs VAE: reconstructions, repeated passes and the 2-D codes by class"))
    return s


def vae_vs_gan(run: Run) -> Section:
    s = Section("vae-vs-gan", "VAE vs GAN samples (MNIST)",
                "Which model's samples does a classifier trained on real digits recognise, and how "
                "many classes do they cover?")
    vae, gan = "mnist_conv_vae_z2", "mnist_gan"
    if not all(n in run.rf and run.rf[n].get("samples") for n in (vae, gan)):
        return s
    s.ran = [f"`{vae}` ({run.description(vae)}): prior samples; `{gan}` ({run.description(gan)}): "
             "G(z) with z ~ N(0, I). The forest of the random-forest stage labels 500 samples of each."]
    rows = []
    for n in (vae, gan):
        smp = run.rf[n]["samples"]
        loss, units = test_loss(run, n)
        rows.append([n, smp.get("classes_seen"), cell_rate(rate(smp, "top_class_fraction")),
                     num(smp.get("mean_max_prob"), 3), num(ev(run, n, "generate.nearest_train_mse_per_pixel")),
                     f"{num(loss)} {units}"])
    s.table = (["variant", "classes seen", "top class share", "forest confidence",
                "MSE to nearest training image", "final test loss"], rows)
    sv, sg = run.rf[vae]["samples"], run.rf[gan]["samples"]
    s.findings.append(f"The forest sees {sv.get('classes_seen')} classes in the VAE's samples and "
                      f"{sg.get('classes_seen')} in the GAN's; its mean confidence is "
                      f"{num(sv.get('mean_max_prob'), 3)} vs {num(sg.get('mean_max_prob'), 3)} (higher = more "
                      "digit-like to the forest).")
    tv, tg = rate(sv, "top_class_fraction"), rate(sg, "top_class_fraction")
    if tv and tg:
        s.findings.append(compare_rates("the VAE", tv, "the GAN", tg, "Share of the most frequent class"))
    s.findings.append("The losses are not comparable across the two: the VAE's is −ELBO in nats/image, the "
                      "GAN's is its generator's non-saturating loss, which rises whenever the discriminator improves.")
    for n in (vae, gan):
        p = run.plot("eval", n, "generate.png")
        if p:
            s.figures.append((p, f"`{n}`: samples"))
    return s


def optuna(run: Run) -> Section:
    s = Section("optuna", "Optuna: tuning the Fashion-MNIST VAE",
                "Which epochs, batch size and learning rate minimise the cross-validated loss, and do "
                "the samplers agree?")
    name, m = _study(run, "tune_")
    if not m:
        return s
    s.ran = [f"`{m['variant']}`: {m['objective']}; {m['subset']:,} training images, {m['folds']} folds, "
             f"{m['n_trials_per_sampler']} trials per sampler ({', '.join(m['samplers'])}); storage {m.get('storage')}."]
    folds = _fold_spread(run, name)
    rows = []
    for sampler, r in m["samplers"].items():
        b = r.get("best") or {}
        rows.append([sampler, r.get("n_trials"), r.get("n_complete"), r.get("n_pruned_or_diverged"),
                     num(b.get("value")), folds.get((sampler, b.get("trial")), "n/a"), b.get("epochs"),
                     b.get("batch_size"), num(b.get("lr"), 3)])
    s.table = (["sampler", "trials", "complete", "pruned/diverged", "best CV loss", "fold spread (sd)",
                "epochs", "batch", "lr"], rows)
    best = m.get("best") or {}
    if best:
        s.findings.append(f"Best: {num(best.get('value'))} ({m['objective'].split(',')[0]}) by `{best['sampler']}` "
                          f"with {best.get('epochs')} epochs, batch {best.get('batch_size')}, lr {num(best.get('lr'), 3)}.")
    values = {k: (r.get("best") or {}).get("value") for k, r in m["samplers"].items()}
    spread = [v for v in folds.values() if isinstance(v, float)]
    ok = {k: v for k, v in values.items() if v is not None}
    if len(ok) > 1 and spread:
        gap = max(ok.values()) - min(ok.values())
        typical = statistics.median(spread)
        verdict = ("smaller than the typical fold-to-fold spread, so the samplers are not separated"
                   if gap < typical else "larger than the typical fold-to-fold spread")
        s.findings.append(f"The samplers' best values differ by {num(gap)}, {verdict} ({num(typical)}).")
    lrs = _stopped_lrs(run, name)
    if lrs:
        done = [t for t in _trials(run, name) if t.get("state") == "COMPLETE"]
        s.findings.append(f"{len(lrs)} trials were pruned or diverged, at learning rates "
                          f"{num(min(lrs), 3)}–{num(max(lrs), 3)}; the completed ones used "
                          f"{num(min(t['lr'] for t in done), 3)}–{num(max(t['lr'] for t in done), 3)}."
                          if done else f"{len(lrs)} trials were pruned or diverged; none completed.")
    for fig, cap in (("samplers.png", "best CV loss so far per trial, by sampler"),
                     ("optuna_importances_tpe.png", "hyperparameter importances (TPE study)")):
        p = run.plot("studies", name, fig)
        if p:
            s.figures.append((p, cap))
    return s


def _trials(run: Run, study: str) -> list[dict]:
    p = run.root / paths.study_data(study) / "trials.json"
    return json.loads(p.read_text()) if p.exists() else []


def _stopped_lrs(run: Run, study: str) -> list[float]:
    return [t["lr"] for t in _trials(run, study) if t.get("state") != "COMPLETE" and t.get("lr") is not None]


def _fold_spread(run: Run, study: str) -> dict:
    """{(sampler, trial): sd of the fold losses} from plots/studies_data/<study>/trials.json."""
    out = {}
    for t in _trials(run, study):
        raw = t.get("fold_losses")
        vals = raw if isinstance(raw, list) else [float(x) for x in str(raw or "").replace(",", " ").split()]
        if len(vals) > 1:
            out[(t["sampler"], t["trial"])] = statistics.stdev(vals)
    return out


def digits(run: Run) -> Section:
    s = Section("digits", "Digits: bottleneck size",
                "How much does an MLP autoencoder on sklearn's 8×8 digits lose at bottleneck 2, 4 and 8?")
    m = run.studies.get("digits")
    if not m:
        return s
    per = m["variants"]
    s.ran = [f"`{n}`: {run.description(n)}" for n in per]
    rows = []
    for n, v in per.items():
        rf = v.get("rf", {})
        rows.append([n, v["bottleneck"], num(v["test_mse_per_pixel"]), num(v["train_mse_per_pixel"]),
                     cell_rate(rate(rf, "accuracy_reconstructions")), cell_rate(rate(rf, "accuracy_originals"))])
    s.table = (["variant", "bottleneck", "test MSE/pixel", "train MSE/pixel", "RF on reconstructions",
                "RF on originals"], rows)
    by_size = sorted(per.items(), key=lambda kv: kv[1]["bottleneck"])
    (_, vs), (_, vl) = by_size[0], by_size[-1]
    line = (f"Bottleneck {vl['bottleneck']} reconstructs test digits with {num(vl['test_mse_per_pixel'])} MSE/pixel, "
            f"{ratio(vs['test_mse_per_pixel'], vl['test_mse_per_pixel']).replace('higher', 'lower')} than "
            f"bottleneck {vs['bottleneck']}")
    rl, ro = rate(vl.get("rf", {}), "accuracy_reconstructions"), rate(vl.get("rf", {}), "accuracy_originals")
    if rl and ro:
        line += f"; the forest still reads {rl.pct()} of them vs {ro.pct()} of the originals"
    s.findings.append(line + ".")
    rs = rate(vs.get("rf", {}), "accuracy_reconstructions")
    if rs and rl:
        s.findings.append(compare_rates(f"bottleneck {vs['bottleneck']}", rs, f"bottleneck {vl['bottleneck']}", rl,
                                        "Forest accuracy on reconstructions"))
    for fig, cap in (("bottleneck.png", "error and forest accuracy vs bottleneck size"),
                     ("reconstructions.png", "test digits and their reconstructions per bottleneck")):
        p = run.plot("studies", "digits", fig)
        if p:
            s.figures.append((p, cap))
    return s


def forest_table(run: Run) -> Section:
    s = Section("forest", "Random forest on reconstructions, every variant",
                "Does a classifier trained on real images still recognise the reconstructions, and "
                "how much class information do the reconstructions keep?")
    vs = [n for n in run.variants() if rf_rate(run, n)]
    if not vs:
        return s
    s.ran = ["A random forest fitted on training originals labels test originals and test reconstructions "
             "(\"looks like the real thing\"); a second forest fitted on reconstructions of the training "
             "images labels test reconstructions (\"information kept\"). Wilson 95% intervals."]
    rows = [[n, cell_rate(rf_rate(run, n, "test_originals")), cell_rate(rf_rate(run, n)),
             cell_rate(rf_rate(run, n, "test_reconstructions_recon_forest")),
             cell_rate(rf_rate(run, n, "train_reconstructions")), health(run, n)] for n in vs]
    s.table = (["variant", "originals", "reconstructions", "reconstructions (forest on reconstructions)",
                "training reconstructions", "health"], rows)
    kept = [n for n in vs if rf_rate(run, n).overlaps(rf_rate(run, n, "test_originals") or rf_rate(run, n))]
    s.findings.append(f"{len(kept)} of {len(vs)} variants keep forest accuracy on reconstructions within the "
                      "interval of the originals'" + (f": {', '.join(f'`{k}`' for k in kept)}." if kept else "."))
    gains = {n: _gain(run, n) for n in vs}
    big = best_of(gains, False)
    if big and big[1] > 0.05:
        s.findings.append(f"The forest trained on reconstructions reads them better than the forest of originals "
                          f"most for `{big[0]}` (+{pct(big[1])}): its reconstructions keep class information "
                          "that no longer looks like the real digits.")
    return s


def _gain(run: Run, n: str):
    a, b = rf_rate(run, n, "test_reconstructions_recon_forest"), rf_rate(run, n)
    return a.value - b.value if a and b else None


def photos(run: Run) -> Section:
    s = Section("photos", "Photo study (colour emoji, 32×32)",
                "How well do the conv AE, the photo-study CAE and VAE reconstruct and generate colour images?")
    from ..data.registry import DATASETS

    vs = [n for n in run.variants() if DATASETS[run.params.variants[n].dataset].rgb]
    if not vs:
        return s
    s.ran = [f"`{n}`: {run.description(n)}" for n in vs]
    rows = []
    for n in vs:
        loss, units = test_loss(run, n)
        rows.append([n, run.params.variants[n].dataset, run.train[n].get("epochs"),
                     cell_num(run.fit_seconds(n), 3), f"{num(loss)} {units}",
                     num(ev(run, n, "reconstruct.test.psnr_db"), 3), num(ev(run, n, "reconstruct.test.ssim"), 3),
                     health(run, n)])
    s.table = (["variant", "dataset", "epochs", "fit s", "test loss", "PSNR dB", "SSIM", "health"], rows)
    psnr = best_of({n: ev(run, n, "reconstruct.test.psnr_db") for n in vs}, False)
    if psnr:
        s.findings.append(f"Sharpest reconstructions: `{psnr[0]}` at {psnr[1]:.1f} dB PSNR "
                          f"(SSIM {num(ev(run, psnr[0], 'reconstruct.test.ssim'), 3)}).")
    flagged = [n for n in vs if health(run, n) not in ("ok", "n/a")]
    if flagged:
        s.findings.append("Flagged by the health checks (see the panel): "
                          + "; ".join(f"`{n}` ({health(run, n)})" for n in flagged) + ".")
    for n, fig in ((psnr[0] if psnr else None, "reconstruct.png"), ("emoji_deep_vae_z32", "generate.png")):
        p = run.plot("eval", n, fig) if n else None
        if p:
            s.figures.append((p, f"`{n}`: {'test reconstructions' if 'recon' in fig else 'samples'}"))
    return s


__all__ = ["ae_vs_vae", "vae_vs_gan", "optuna", "digits", "forest_table", "photos", "Rate"]
