"""Sections of the two-moons studies: the sweeps, the adopted setting's repeats, codes and
noise (moons_sweep@, study_moons), and the MMD autoencoder vs the bottleneck AE
(study_moons_mmd@). Sentences never rank results that are within their noise: seeds
(Welch's test, computed by the stages: studies.compare.versus) or the real-vs-real MMD²."""

from __future__ import annotations

from .gather import Run
from .render import Section
from .text import best_of, num, ratio


def moons(run: Run) -> Section:
    s = Section("moons", "Two moons: sweeps, repeats, codes and noise",
                "How do data size, epochs, learning rate, schedule, width and depth change a 1-D "
                "bottleneck autoencoder on two moons, how much do seeds matter, and does it learn the curve?")
    sweeps = {k.removeprefix("moons_sweep_"): v for k, v in run.studies.items() if k.startswith("moons_sweep_")}
    rows = []
    for axis, m in sweeps.items():
        pts = {k: p["test_mse"]["mean"] for k, p in m["points"].items() if "test_mse" in p}
        b = best_of(pts, True)
        worst = best_of(pts, False)
        div = [k for k, p in m["points"].items() if p.get("diverged")]
        rows.append([axis, ", ".join(m["values"]), b[0] if b else "n/a", num(b[1]) if b else "n/a",
                     num(m["points"][b[0]]["test_mse"]["std"]) if b else "n/a", _vs_base(m["best"]),
                     f"{worst[0]} ({num(worst[1])})" if worst else "n/a", ", ".join(div) or "none"])
    if rows:
        s.ran.append(f"One axis at a time around a base setting, {next(iter(sweeps.values()))['repeats']} "
                     "model seeds per point; test MSE per coordinate in standardized units.")
        s.table = (["axis", "values", "best", "test MSE (mean)", "sd over seeds", "best vs base (Welch)", "worst",
                    "diverged"], rows)
        beats = [axis for axis, m in sweeps.items() if (m["best"].get("vs_base") or {}).get("verdict") == "lower"]
        tested = [axis for axis, m in sweeps.items() if "vs_base" in m["best"]]
        if tested:
            s.findings.append("Best vs base within each sweep (same seeds): "
                              + (f"beyond seed noise only for {', '.join(beats)}; " if beats else "none beyond seed noise; ")
                              + f"{len(tested) - len(beats)} of {len(tested)} sweep winners are within it, so their "
                              "ranking is not established at this many seeds.")
    m = run.studies.get("moons")
    if m:
        s.ran.append(f"The adopted setting ({', '.join(f'{k} {v}' for k, v in m['adopted_from_sweep'].items())}) "
                     "repeated over model seeds and data seeds; a GMM on the codes as a sampler; training at noise 0.2.")
        ms, ds = m["spread"]["model_seeds"], m["spread"]["data_seeds"]
        s.findings.append(f"Seeds: over {ms['n']} model seeds the test MSE is {num(ms['mean'])} ± {num(ms['std'])} "
                          f"(range {num(ms['min'])}–{num(ms['max'])}); over {ds['n']} data seeds "
                          f"{num(ds['mean'])} ± {num(ds['std'])}. Sweep differences smaller than about "
                          f"{num(ms['std'])} are within seed noise.")
        bs, vs = m["spread"].get("base_model_seeds"), m["spread"].get("vs_base")
        if bs and vs:
            p = f"Welch p = {vs['welch_p']:.2g}" if vs.get("welch_p") is not None else "no spread to test"
            verdict = {"lower": "beats the base setting: the per-axis bests combine",
                       "higher": "is worse than the base setting: the per-axis bests do not combine",
                       }.get(vs["verdict"], "does not differ from the base setting beyond seed noise")
            s.findings.append(f"Against the base: over the same {bs['n']} model seeds the base setting "
                              f"scores {num(bs['mean'])} ± {num(bs['std'])}, so the adopted setting "
                              f"({num(vs['ratio'], 3)}× the base, {p}) {verdict}.")
        g = m["codes_gmm"]
        syn, noise = g["mmd2_synthetic_vs_test"], abs(g["mmd2_floor_real_vs_test"])
        tell = ("so they are told apart from real points" if syn > noise else
                "within that noise: no different from real points by this measure")
        s.findings.append(f"Sampling: a {g['gmm_components']}-component GMM on the 1-D codes gives points with "
                          f"MMD² {num(syn)} to the test set; {_mmd_noise(g['mmd2_floor_real_vs_test'])}, {tell}.")
        nz = m["noise"]
        s.findings.append(f"Noise 0.2: test MSE is {num(nz['test_mse_ratio_noisy_vs_clean'], 3)}× that at 0.1; "
                          f"the decoded curve lies {num(nz['curve_dist_to_noiseless_moons']['train_noise_0.2'])} "
                          f"from the noiseless moons vs {num(nz['curve_dist_to_noiseless_moons']['train_noise_0.1'])} "
                          "(data units).")
    for axis in ("lr", "n_train"):
        if axis in sweeps:
            b = best_of({k: p["test_mse"]["mean"] for k, p in sweeps[axis]["points"].items()
                         if "test_mse" in p}, True)
            if b:
                s.findings.insert(0, f"Sweep over {axis}: best {b[0]} with test MSE {num(b[1])} "
                                     f"(vs the base: {_vs_base(sweeps[axis]['best'])}).")
    for study, fig, cap in (("moons_sweep_lr", "error_vs_value.png", "test and train MSE vs learning rate (±1 sd over seeds)"),
                            ("moons", "spread.png", "spread over model and data seeds"),
                            ("moons", "codes_gmm.png", "codes, the GMM on them and its decoded samples")):
        p = run.plot("studies", study, fig)
        if p:
            s.figures.append((p, cap))
    return s


def _mmd_noise(floor: float) -> str:
    """The real-vs-real MMD² in words: the unbiased estimate of a zero distance, so its size
    (either sign) is the estimate's noise at this sample size."""
    return (f"two real samples score {num(floor)} against each other (an unbiased estimate of zero: "
            f"its size, {num(abs(floor))}, is the estimate's noise)")


def mmd_vs_reference(name: str, a: dict, ref: dict, noise: float) -> str:
    """One MMD-AE against the bottleneck AE: reconstruction, then samples by MMD² (a tie when
    the gap is within `noise`) and by the distance to the noiseless moons (one run each)."""
    gap = a["synthetic_mmd2_vs_test"] - ref["synthetic_mmd2_vs_test"]
    mmd_says = "tie" if abs(gap) <= noise else "it" if gap < 0 else "ref"
    curve_says = "it" if a["synthetic_dist_to_noiseless_moons"] < ref["synthetic_dist_to_noiseless_moons"] else "ref"
    if mmd_says == "tie":
        verdict = (f"MMD² cannot tell them apart (gap {num(abs(gap))} ≤ noise {num(noise)}); the distance to the "
                   + ("curve favours it" if curve_says == "it" else "curve favours the bottleneck AE"))
    elif mmd_says == curve_says:
        verdict = "both measures favour " + ("it" if curve_says == "it" else "the bottleneck AE")
    else:
        verdict = "the two measures disagree: " + ("closer in distribution (MMD²), further from the curve"
                                                   if mmd_says == "it" else "closer to the curve, further in distribution (MMD²)")
    better_rec = a["test_mse"] < ref["test_mse"]
    return (f"`{name}` vs the bottleneck AE: test MSE {num(a['test_mse'])} vs {num(ref['test_mse'])} "
            f"({'better' if better_rec else 'worse'}, with one more code dimension); samples at MMD² "
            f"{num(a['synthetic_mmd2_vs_test'])} vs {num(ref['synthetic_mmd2_vs_test'])} and "
            f"{num(a['synthetic_dist_to_noiseless_moons'])} vs {num(ref['synthetic_dist_to_noiseless_moons'])} "
            f"from the noiseless moons — {verdict}.")


def mmd(run: Run) -> Section:
    s = Section("mmd", "MMD autoencoder vs bottleneck autoencoder (two moons)",
                "Does an MMD-regularised 2-D code reconstruct and generate better than a 1-D "
                "bottleneck, and which encoder and kernel should it use?")
    found = {k: m for k, m in run.studies.items() if k.startswith("moons_mmd")}
    if not found:
        return s
    first = next(iter(found.values()))
    ref = first["reference_ae"]
    s.ran = [f"`{m['variant']}`: {run.description(m['variant'])}" for m in found.values()]
    s.ran.append(f"Reference `{first['reference']}` ({run.description(first['reference'])}); {first['units']}.")
    rows = [[first["reference"], "bottleneck 1", "—", num(ref["test_mse"]), "1", "—",
             num(ref["synthetic_mmd2_vs_test"]), num(ref["synthetic_dist_to_noiseless_moons"])]]
    models = {}
    for m in found.values():
        a, cfg = m["mmd_ae"], run.params.variants[m["variant"]].model_args
        models[m["variant"]] = a
        rows.append([m["variant"], cfg.get("encoder", "resnet"), cfg.get("kernel", "rbf"), num(a["test_mse"]),
                     num(m["mse_ratio_mmd_to_reference"], 3),
                     f"{num(a['code_mmd2_vs_normal'])} (floor {num(a['code_mmd2_floor_normal_vs_normal'])})",
                     num(a["synthetic_mmd2_vs_test"]), num(a["synthetic_dist_to_noiseless_moons"])])
    s.table = (["variant", "encoder", "kernel", "test MSE", "MSE / bottleneck AE", "code MMD² to N(0, I)",
                "sample MMD² to test", "sample distance to noiseless moons"], rows)
    for label, key, what in (("test MSE", "test_mse", "reconstructs best"),
                             ("code MMD²", "code_mmd2_vs_normal", "has the most Gaussian code"),
                             ("sample distance", "synthetic_dist_to_noiseless_moons", "generates points closest to the moons")):
        vals = {n: a[key] for n, a in models.items()}
        b = best_of(vals, True)
        if b and len(vals) > 1:
            rest = sorted((v, n) for n, v in vals.items() if n != b[0])
            s.findings.append(f"`{b[0]}` {what} ({label} {num(b[1])}; next `{rest[0][1]}` {num(rest[0][0])}, "
                              f"{ratio(rest[0][0], b[1])}; one run each).")
    floor = first["synthetic_mmd2_floor_real_vs_test"]
    s.findings.append(f"Sample MMD² to the test points: {_mmd_noise(floor)}; differences between models "
                      "smaller than that are not read as a ranking below.")
    for n, a in models.items():
        s.findings.append(mmd_vs_reference(n, a, ref, abs(floor)))
    grid = next((m.get("grid") for m in found.values() if len(m.get("grid") or {}) > 1), None)
    if grid:
        b = best_of({k: g["synthetic_mmd2_vs_test"] for k, g in grid.items()}, True)
        s.findings.append(f"Over the λ × kernel × bandwidths grid ({len(grid)} settings, 500 points, one run each) the "
                          f"most realistic samples come from `{b[0]}` (sample MMD² {num(b[1])}).")
    for name in found:
        for fig, cap in (("comparison.png", "reconstructions, codes and samples vs the bottleneck AE"),
                         ("grid.png", "the λ × kernel grid")):
            p = run.plot("studies", name, fig)
            if p and (fig == "comparison.png" or len(found[name].get("grid") or {}) > 1):
                s.figures.append((p, f"`{found[name]['variant']}`: {cap}"))
    return s


def _vs_base(best: dict) -> str:
    """The sweep's best against the base value (moons_sweep@'s studies.compare.versus), in a cell."""
    vs = best.get("vs_base")
    if vs is None:
        return "is the base"
    p = f"p {vs['welch_p']:.2g}" if vs.get("welch_p") is not None else "no spread"
    return f"{vs['verdict']} ({p})"
