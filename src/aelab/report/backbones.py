"""Section of study_gan_backbones (metrics/studies/gan_backbones_<name>.json,
aelab.studies.gan_backbones.compute): the same GAN with convolutional vs fully connected players."""

from __future__ import annotations

from .common import cell_rate
from .gather import Run
from .render import Section
from .text import compare_rates, num, rate, ratio

ROLES = (("conv", "the conv GAN"), ("mlp", "the MLP GAN"))


def gan_backbones(run: Run) -> Section:
    s = Section("gan-backbones", "Feed-forward vs convolutional GAN (MNIST)",
                "With the same latent size and training budget, does a GAN with fully connected players "
                "generate digits as well as one with convolutional players?")
    name, m = next(((k, v) for k, v in run.studies.items() if k.startswith("gan_backbones")), (None, None))
    if not m or not all(m.get(r) for r, _ in ROLES):
        return s
    conv, mlp = m["conv"], m["mlp"]
    s.ran = [f"`{r['variant']}` ({run.description(r['variant'])})" for r in (conv, mlp)]
    s.ran.append(f"{num(conv.get('n_samples'))} prior samples per backbone (the same z for both). Fréchet distance "
                 f"(squared, feature units²) to {num(m.get('n_real_test'))} real test digits on the features of a "
                 f"small classifier ({m.get('fid_features')}; its test accuracy "
                 f"{_pct(m.get('fid_feature_net_test_accuracy'))}) — not Inception features, so not comparable "
                 "with published FIDs. The random forest of classify@ labels every sample.")
    fc, fm, floor = conv.get("frechet_distance"), mlp.get("frechet_distance"), m.get("frechet_floor_test_halves")
    if fc is not None and fm is not None:
        closer, far = (("conv", fc), ("MLP", fm)) if fc <= fm else (("MLP", fm), ("conv", fc))
        line = (f"Fréchet distance to real test digits: conv {num(fc)} vs MLP {num(fm)} "
                f"({ratio(fm, fc)} for the MLP; one run each, no interval)")
        if floor is not None:
            line += f"; two halves of the real test digits are {num(floor)} apart"
            line += (f" — the gap ({num(far[1] - closer[1])}) is smaller than that floor, so this run does not "
                     "separate the backbones" if far[1] - closer[1] < floor else
                     f" — the gap is larger than that floor: the {closer[0]} GAN's samples are closer to real digits "
                     "in these features")
        s.findings.append(line + ".")
    missing = {r: _missing(m, m[r]) for r, _ in ROLES}
    seen = (f"The forest sees {conv.get('classes_seen')} classes in the conv GAN's samples and "
            f"{mlp.get('classes_seen')} in the MLP GAN's (a class counts from a {_pct(m.get('min_class_share'), 0)} "
            "share)")
    both = [c for c in missing["conv"] if c in missing["mlp"]]
    if both:
        seen += f"; neither produces {_classes(both)}"
    only = {r: [c for c in missing[r] if c not in both] for r, _ in ROLES}
    seen += "".join(f"; {label} misses {_classes(only[r])}" for r, label in ROLES if only[r])
    if not any(missing.values()):
        seen += "; both cover every class"
    s.findings.append(seen + ".")
    tc, tm = rate(conv, "top_class_share"), rate(mlp, "top_class_share")
    if tc and tm:
        s.findings.append(compare_rates(f"conv ('{_top(conv)}')", tc, f"MLP ('{_top(mlp)}')", tm,
                                        "Share of the most frequent class"))
    s.findings.append(f"The forest's mean confidence on the samples is {num(conv.get('mean_max_prob'), 3)} (conv) vs "
                      f"{num(mlp.get('mean_max_prob'), 3)} (MLP); higher = more digit-like to the forest.")
    rows = []
    for r, label in ROLES:
        b, t = m[r], m[r].get("train") or {}
        rows.append([label.removeprefix("the "), f"`{b['variant']}`", num(t.get("params")), num(t.get("epochs")),
                     num(b.get("frechet_distance")), b.get("classes_seen"), ", ".join(missing[r]) or "none",
                     f"'{_top(b)}' {cell_rate(rate(b, 'top_class_share'))}", num(b.get("mean_max_prob"), 3),
                     f"{num(t.get('final_test_d_loss'))} / {num(t.get('final_test_g_loss'))}"])
    s.table = (["backbone", "variant", "parameters", "epochs", "Fréchet distance", "classes seen",
                "missing classes", "top class share", "forest confidence", "final test D / G loss"], rows)
    for fig, cap in (("samples.png", "prior samples of both backbones from the same z"),
                     ("classes.png", "the forest's class histogram of the samples, per backbone"),
                     ("losses.png", "both players' losses per epoch (train solid, test dashed)")):
        p = run.plot("studies", name, fig)
        if p:
            s.figures.append((p, cap))
    s.notes.append("The players' losses only track the game between them; they do not rank sample quality.")
    return s


def _missing(m: dict, b: dict) -> list[str]:
    """Classes whose share of the samples is below the study's min_class_share (not 'seen')."""
    floor = m.get("min_class_share") or 0.0
    return [c for c, f in (b.get("class_fraction") or {}).items() if f < floor or (floor == 0 and f == 0)]


def _top(b: dict) -> str:
    frac = b.get("class_fraction") or {}
    return max(frac, key=frac.get) if frac else "?"


def _classes(cs: list[str]) -> str:
    q = [f"'{c}'" for c in cs]
    return "a " + q[0] if len(q) == 1 else ", ".join(q[:-1]) + " or " + q[-1]


def _pct(v, digits: int = 1) -> str:
    return "n/a" if v is None else f"{100 * v:.{digits}f}%"
