"""Section of study_photo_samples (metrics/studies/photo_samples_<name>.json,
aelab.studies.photo_samples.compute): the photo study's CAE + GMM, VAE and GAN samples."""

from __future__ import annotations

from .common import cell_rate
from .gather import Run
from .render import Section
from .text import compare_rates, num, rate

ROLES = (("cae", "CAE + GMM"), ("vae", "VAE"), ("gan", "GAN"))
SHARP = "laplacian_variance"


def photo_samples(run: Run) -> Section:
    s = Section("photo-samples", "Photo study: CAE + GMM, VAE and GAN samples",
                "Built from the same blocks, which generator gives the sharpest and most varied colour images: "
                "the CAE sampled through a Gaussian mixture on its codes, the VAE, or the GAN?")
    name, m = next(((k, v) for k, v in run.studies.items() if k.startswith("photo_samples")), (None, None))
    if not m or not all(m.get(r) for r, _ in ROLES) or not m.get("real"):
        return s
    real = m["real"]
    s.ran = [f"`{m[r]['variant']}` ({run.description(m[r]['variant'])})" for r, _ in ROLES]
    s.ran.append(f"{num(m.get('n_samples'))} samples per model and {num(real.get('n'))} real test images. Sharpness: the variance "
                 "of the Laplacian of each image's luminance and its mean gradient magnitude (blur lowers both), "
                 "as ratios to the real images. Variety: the mean RMS distance between two samples, as a ratio "
                 "to that of real images, and the categories classify@'s random forest sees among the samples.")
    s.findings.append(_sharpness(m))
    s.findings.append(_frechet(m))
    s.findings.append(_variety(m))
    tops = {label: rate(m[r], "top_class_share") for r, label in ROLES}
    best = min((k for k in tops if tops[k]), key=lambda k: tops[k].value, default=None)
    worst = max((k for k in tops if tops[k]), key=lambda k: tops[k].value, default=None)
    if best and worst and best != worst:
        s.findings.append(compare_rates(best, tops[best], worst, tops[worst], "Share of the most frequent category")
                          + f" (real test images: {cell_rate(rate(real, 'top_class_share'))}).")
    s.findings.append(_closeness(m))
    rows = [["real test images", "—", *_cells(real, None), num(real.get("frechet_distance")) + " (floor)"]]
    for r, label in ROLES:
        b = m[r]
        how = "prior" if b.get("sampler") == "prior" else f"GMM, {b.get('gmm_components')} components"
        rows.append([f"{label}: `{b['variant']}`", how, *_cells(b, real), num(b.get("frechet_distance"))])
    s.table = (["images", "sampler", "Laplacian variance (× real)", "gradient magnitude (× real)",
                "pairwise RMS (× real)", "categories seen", "top category share", "nearest-training MSE/pixel",
                "Fréchet distance"], rows)
    for fig, cap in (("samples.png", "real test images and samples of the three generators"),
                     ("measures.png", "sharpness and variety as ratios to real images (1 = like real)"),
                     ("classes.png", "the forest's category histogram of real images and of each model's samples")):
        p = run.plot("studies", name, fig)
        if p:
            s.figures.append((p, cap))
    s.notes.append(f"The Fréchet distance uses the hidden layer of a small classifier fitted on the emoji categories "
                   f"(test accuracy {_pct(m.get('fid_feature_net_test_accuracy'))}); it compares these models with "
                   "each other, not with published FIDs. Categories are Unicode groups, not visual classes.")
    return s


def _cells(b: dict, real: dict | None) -> list:
    def with_ratio(key: str, digits: int) -> str:
        v = num(b.get(key), digits)
        return v if real is None else f"{v} ({num(b.get(f'{key}_ratio_to_real'), 3)}×)"

    return [with_ratio(SHARP, 4), with_ratio("gradient_magnitude", 4), with_ratio("mean_pairwise_rms", 4),
            b.get("classes_seen"), cell_rate(rate(b, "top_class_share")), num(b.get("nearest_train_mse_per_pixel"), 4)]


def _sharpness(m: dict) -> str:
    """Rank by Laplacian variance; two models count as tied when their means lie within
    2 standard errors of the difference (per-image spread, n samples each)."""
    order = sorted((r for r, _ in ROLES), key=lambda r: -m[r][SHARP])
    label = dict(ROLES)
    parts = [f"{label[r]} {m[r][f'{SHARP}_ratio_to_real']:.2f}×" for r in order]
    line = f"Sharpness (Laplacian variance relative to real test images): {', '.join(parts)}"
    a, b = m[order[0]], m[order[1]]
    se = (a.get(f"{SHARP}_sem", 0) ** 2 + b.get(f"{SHARP}_sem", 0) ** 2) ** 0.5
    if a[SHARP] - b[SHARP] > 2 * se:
        most = "sharpest" if a[f"{SHARP}_ratio_to_real"] <= 1.0 else "richest in high-frequency detail"
        line += f"; the {label[order[0]]}'s samples are the {most} (the gap to the {label[order[1]]} exceeds 2 standard errors)"
        line += _unlike_real(m, order[0])
    else:
        line += f"; the {label[order[0]]} and the {label[order[1]]} are within 2 standard errors of each other"
    blurred = [label[r] for r in order if m[r][f"{SHARP}_ratio_to_real"] < 0.5]
    if blurred:
        line += f". Below half the real images' sharpness: {', '.join(blurred)}"
    noisy = [label[r] for r in order if m[r][f"{SHARP}_ratio_to_real"] > 1.0]
    if noisy:
        line += (f". Above the real images: {', '.join(noisy)} — this measure counts every high-frequency detail, "
                 "so speckle and checkerboard artefacts score as sharpness; the Fréchet distance and the figure "
                 "tell whether the detail is image-like")
    return line + "."


def _unlike_real(m: dict, role: str) -> str:
    """A caveat when the sharpest model is also the farthest from real images by Fréchet
    distance, beyond the real-vs-real floor: its detail is speckle, not image content (a
    collapsed GAN's near-white samples with checkerboard specks ranked sharpest)."""
    floor = m["real"].get("frechet_distance")
    others = [m[r]["frechet_distance"] for r, _ in ROLES if r != role]
    fid = m[role]["frechet_distance"]
    if floor is None or fid - max(others) <= floor:
        return ""
    return (f", but they are also the farthest from real images by Fréchet distance ({num(fid)} vs at most "
            f"{num(max(others))} for the others): their high-frequency detail is not image-like (see the figure)")


def _frechet(m: dict) -> str:
    """Rank by the Fréchet distance to real test images, against the real-vs-real floor."""
    label = dict(ROLES)
    order = sorted((r for r, _ in ROLES), key=lambda r: m[r]["frechet_distance"])
    floor = m["real"].get("frechet_distance")
    parts = [f"{label[r]} {num(m[r]['frechet_distance'])}" for r in order]
    line = f"Fréchet distance to real test images (lower = closer in the classifier's features): {', '.join(parts)}"
    if floor is not None:
        line += f"; two halves of the real test images are {num(floor)} apart"
        gap = m[order[1]]["frechet_distance"] - m[order[0]]["frechet_distance"]
        line += (f" — the {label[order[0]]} is closest: its lead over the {label[order[1]]} ({num(gap)}) "
                 "is larger than that floor" if gap > floor else
                 f" — the {label[order[0]]} and the {label[order[1]]} differ by less than that floor, so this "
                 "run does not separate them")
    return line + "."


def _variety(m: dict) -> str:
    label = dict(ROLES)
    real = m["real"]
    parts = [f"{label[r]} {m[r]['mean_pairwise_rms_ratio_to_real']:.2f}× ({m[r]['classes_seen']} categories)"
             for r, _ in ROLES]
    low = min((r for r, _ in ROLES), key=lambda r: m[r]["mean_pairwise_rms"])
    return (f"Variety (mean pairwise RMS distance relative to real images, and categories the forest sees; "
            f"real images: {real.get('classes_seen')} categories): {', '.join(parts)}; the {label[low]}'s "
            "samples are the most alike.")


def _closeness(m: dict) -> str:
    label = dict(ROLES)
    real = m["real"].get("nearest_train_mse_per_pixel")
    parts = [f"{label[r]} {num(m[r].get('nearest_train_mse_per_pixel'), 4)}" for r, _ in ROLES]
    line = f"Mean squared distance per pixel to the nearest training image: {', '.join(parts)}; real test images {num(real, 4)}"
    copies = [label[r] for r, _ in ROLES if real and m[r].get("nearest_train_mse_per_pixel", 1) < 0.5 * real]
    return line + (f" — {', '.join(copies)} sit much closer to training images than real ones do (memorised detail)."
                   if copies else " — no model's samples sit much closer to the training images than real ones do.")


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"
