"""Section of study_rbm (metrics/studies/rbm_<name>.json, aelab.studies.rbm.to_metrics): the
RBM's grid, what its Gibbs chain does to a digit, how it fills a hole against the mean
image, and, with the DBM part (`dbm.*`, `samples_from_noise.*`), the DBM next to it."""

from __future__ import annotations

from .common import cell_rate
from .gather import Run
from .render import Section
from .studies import _study
from .text import best_of, compare_rates, num, rate, ratio

MODELS = (("rbm", "RBM"), ("dbm", "DBM"))


def rbm_dbm(run: Run) -> Section:
    s = Section("rbm", "RBM and DBM: Gibbs chains, inpainting and samples (MNIST)",
                "Does more Gibbs sampling keep the digit, does a Boltzmann machine fill a hole better than "
                "the mean training image, and do its samples from noise look like digits?")
    name, m = _study(run, "rbm_")
    if not m:
        return s
    dbm = m.get("dbm") or {}
    noise = m.get("samples_from_noise") or {}
    s.ran = [f"`{v}` ({run.description(v)})" for v in (m["variant"], dbm.get("variant")) if v]
    s.ran += _ran(m, noise)
    s.findings += _grid(m.get("grid") or {})
    chains = {who: g for who, g in (("rbm", m.get("gibbs")), ("dbm", dbm.get("gibbs"))) if g}
    for who, g in chains.items():
        line = _gibbs(dict(MODELS)[who], g)
        if line:
            s.findings.append(line)
    if len(chains) == 2:
        last = _steps(chains["rbm"])[-1]
        a, b = (rate(chains[w]["steps"].get(last), "same_class") for w in ("rbm", "dbm"))
        if a and b:
            s.findings.append(compare_rates("the RBM", a, "the DBM", b,
                                            f"After {last} steps, the share still labelled as the digit's class"))
    holes = {"rbm": m.get("inpaint") or {}, "dbm": dbm.get("inpaint") or {}}
    s.findings += _inpaint(holes)
    s.findings += _noise(noise)
    if holes["rbm"]:
        s.table = _inpaint_table(holes)
    figs = [("gibbs_steps.png", "Gibbs chains from test digits: the original, then p(v | h) after k steps"
             + (" (RBM rows above, DBM rows below)" if dbm else "")),
            ("inpainting.png", "RBM inpainting: the digit with its hole (grey), the clamped chain's state and "
                               "the merged digit, per region")]
    figs.append(("rbm_vs_dbm_samples.png", "RBM vs DBM: one Gibbs step from the same test digits, then samples "
                                           "from noise") if noise else
                ("grid.png", "grid: test (solid) and train (dashed) pseudo-likelihood per pass, per learning "
                             "rate × hidden units"))
    for fig, cap in figs:
        p = run.plot("studies", name, fig)
        if p:
            s.figures.append((p, cap))
    s.notes.append("Rates are the forest's on the same test digits, with Wilson 95% intervals; hole MSE and "
                   "pseudo-likelihood are single runs without an interval.")
    if noise:
        s.notes.append("A sample closer to the training set than real test digits are is a near-copy or a "
                       "smoothed average of training digits; one further away resembles no training digit.")
    return s


def _ran(m: dict, noise: dict) -> list[str]:
    out = []
    st = (m.get("grid") or {}).get("setting") or {}
    cells = (m.get("grid") or {}).get("cells") or {}
    if cells:
        out.append(f"Grid: {len(cells)} small RBMs (learning rate × hidden units), {st.get('epochs')} passes on "
                   f"{num(st.get('n_train'))} training digits ({'PCD' if st.get('pcd') else 'CD'}-{st.get('cd_k')}); "
                   f"test pseudo-likelihood on {num(st.get('n_test'))} digits (nats/image, higher is better).")
    g = m.get("gibbs") or {}
    steps = _steps(g)
    cells = list((m.get("inpaint") or {}).values())
    n_inp = next((c.get("rf_correct_merged_n") for c in cells), None)
    if steps:
        out.append(f"Gibbs chains from {num(g.get('forest_accuracy_originals_n'))} binarized test digits, "
                   f"{', '.join(steps)} steps; the random forest of classify@ (fitted on "
                   f"{num((m.get('forest') or {}).get('n_fit'))} training originals) labels each chain state.")
    if cells:
        regions = list(dict.fromkeys(c["region"] for c in cells))
        rows = sorted({c["rows"] for c in cells})
        out.append(f"Inpainting of {num(n_inp)} test digits: {' or '.join(map(str, rows))} rows "
                   f"(columns for left/right) removed at {', '.join(regions)}; the clamped chain fills the hole, "
                   "the baseline fills it with the per-pixel training mean.")
    if noise:
        n = (noise.get("rbm") or {}).get("top_class_share_n")
        out.append(f"{num(n)} samples from noise per model; each compared with the closest of "
                   f"{num(noise.get('n_train_searched'))} training digits.")
    return out


def _steps(g: dict | None) -> list[str]:
    return sorted((g or {}).get("steps") or {}, key=int)


def _grid(grid: dict) -> list[str]:
    cells = grid.get("cells") or {}
    finals = {k: c.get("final_test_pseudo_ll") for k, c in cells.items()}
    b = best_of(finals, False)
    if not b:
        return []
    c = cells[b[0]]
    line = (f"Grid: the best cell is lr {num(c['lr'])} with {c['hidden']} hidden units, final test "
            f"pseudo-likelihood {num(b[1])} nats/image")
    rest = sorted(((v, k) for k, v in finals.items() if k != b[0] and v is not None), reverse=True)
    if rest:
        w = cells[rest[0][1]]
        line += f" (next: lr {num(w['lr'])}, {w['hidden']} hidden, {num(rest[0][0])})"
    best_pass, best_ll = c.get("best_test_pass"), c.get("best_test_pseudo_ll")
    if best_pass and best_ll is not None and best_pass < (grid.get("setting") or {}).get("epochs", best_pass):
        line += f"; its best pass was {best_pass} ({num(best_ll)})"
    return [line + "; one run per cell, no interval."]


def _gibbs(label: str, g: dict) -> str | None:
    steps = _steps(g)
    if not steps:
        return None
    first, last = steps[0], steps[-1]
    a, b = rate(g["steps"][first], "same_class"), rate(g["steps"][last], "same_class")
    orig = rate(g, "forest_accuracy_originals")
    if not (a and b):
        return None
    line = (f"{label} chain: the forest labels {orig.pct() if orig else 'n/a'} of the original digits correctly; "
            f"it still reads the digit's class in {a.pct()} of the chain states after {first} "
            f"step{'s' if first != '1' else ''} and in {b.pct()} after {last}")
    if a.overlaps(b):
        line += " — within each other's 95% intervals: more sampling does not measurably lose the digit here"
    else:
        apart = next(k for k in steps if not (rate(g["steps"][k], "same_class") or a).overlaps(a))
        line += (f" — the intervals do not overlap: the chain {'drifts away from' if b.value < a.value else 'moves toward'}"
                 f" the digit (first measurably apart from {first} step{'s' if first != '1' else ''}: {apart} steps)")
    m1, m2 = g["steps"][first].get("mse_per_pixel"), g["steps"][last].get("mse_per_pixel")
    if m1 is not None and m2 is not None:
        line += f". MSE to the original grows from {num(m1)} to {num(m2)} per pixel" if m2 > m1 else \
            f". MSE to the original goes from {num(m1)} to {num(m2)} per pixel"
    return line + "."


def _cells_by_rows(cells: dict) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    for c in cells.values():
        out.setdefault(c["rows"], []).append(c)
    return dict(sorted(out.items()))


def _inpaint(holes: dict[str, dict]) -> list[str]:
    out = []
    rbm, dbm = _cells_by_rows(holes["rbm"]), _cells_by_rows(holes["dbm"])
    for rows, cells in rbm.items():
        n = len(cells)
        lower = [c for c in cells if c["hole_mse_rbm"] < c["hole_mse_mean_fill"]]
        rs = {c["region"]: (rate(c, "rf_correct_merged"), rate(c, "rf_correct_mean_fill")) for c in cells}
        above = [r for r, (a, b) in rs.items() if a and b and not a.overlaps(b) and a.value > b.value]
        below = [r for r, (a, b) in rs.items() if a and b and not a.overlaps(b) and a.value < b.value]
        not_lower = [c["region"] for c in cells if c not in lower]
        line = (f"{rows} rows removed: the RBM's fill has a lower hole MSE than the mean image in {len(lower)} of "
                f"{n} regions" + (f" (not at {', '.join(not_lower)})" if not_lower and lower else "")
                + "; the forest reads the RBM-filled digits better than the "
                f"mean-filled ones in {len(above)} of {n} regions (intervals apart)")
        tied = n - len(above) - len(below)
        if tied:
            line += f", within the intervals in {tied}"
        if below:
            line += f", worse in {len(below)} ({', '.join(below)})"
        ex = "top" if "top" in rs else next(iter(rs))
        a, b = rs[ex]
        if a and b:
            line += f" — {ex}: {a.pct()} vs {b.pct()}"
        out.append(line + ".")
        if rows in dbm:
            out.append(_dbm_vs_rbm(rows, cells, dbm[rows]))
    return out


def _dbm_vs_rbm(rows: int, rbm: list[dict], dbm: list[dict]) -> str:
    by = {c["region"]: c for c in dbm}
    pairs = [(c, by[c["region"]]) for c in rbm if c["region"] in by]
    up = down = tie = mse = 0
    for r, d in pairs:
        a, b = rate(d, "rf_correct_merged"), rate(r, "rf_correct_merged")
        if a and b and not a.overlaps(b):
            up, down = up + (a.value > b.value), down + (a.value < b.value)
        else:
            tie += 1
        mse += d["hole_mse_dbm"] < r["hole_mse_rbm"]
    return (f"DBM vs RBM at {rows} rows: forest accuracy on the filled digits is higher for the DBM in {up}, lower "
            f"in {down} and within the intervals in {tie} of {len(pairs)} regions; the DBM's hole MSE is lower in "
            f"{mse} of {len(pairs)} (one run, no interval).")


def _noise(noise: dict) -> list[str]:
    found = {w: noise[w] for w, _ in MODELS if noise.get(w)}
    if not found:
        return []
    label = dict(MODELS)
    seen = " and ".join(f"{d.get('classes_seen')}{' classes' if i == 0 else ''} in the {label[w]}'s"
                        + (" samples" if i == 0 else "") for i, (w, d) in enumerate(found.items()))
    out = [f"Samples from noise: the forest sees {seen} (a class counts from a {_share(noise)} share)."]
    tops = {w: rate(d, "top_class_share") for w, d in found.items()}
    if len(found) == 2 and all(tops.values()):
        r, d = found["rbm"], found["dbm"]
        out.append(compare_rates(f"the RBM ('{r.get('top_class')}')", tops["rbm"],
                                 f"the DBM ('{d.get('top_class')}')", tops["dbm"], "Share of the most frequent class"))
    else:
        out += [f"The {label[w]}'s most frequent class is '{d.get('top_class')}' at "
                f"{tops[w].pct() if tops[w] else 'n/a'}." for w, d in found.items()]
    ref = noise.get("test_digits_nearest_train_mse")
    if ref is not None:
        parts = [f"the {label[w]}'s samples {num(d['nearest_train_mse'])} "
                 f"({ratio(d['nearest_train_mse'], ref)}, {'closer' if d['nearest_train_mse'] < ref else 'further'})"
                 for w, d in found.items() if d.get("nearest_train_mse") is not None]
        out.append(f"Distance to the closest training digit (MSE per pixel): real test digits {num(ref)}; "
                   + "; ".join(parts) + " (one run, no interval).")
    return out


def _share(noise: dict) -> str:
    v = noise.get("min_class_share")
    return f"{100 * v:g}%" if isinstance(v, (int, float)) else "minimum"


def _inpaint_table(holes: dict[str, dict]) -> tuple[list[str], list[list]]:
    dbm = {(c["region"], c["rows"]): c for c in holes["dbm"].values()}
    header = ["region", "rows", "hole MSE RBM"] + (["hole MSE DBM"] if dbm else []) + [
        "hole MSE mean fill", "forest on RBM fill"] + (["forest on DBM fill"] if dbm else []) + ["forest on mean fill"]
    rows = []
    for rows_n, cells in _cells_by_rows(holes["rbm"]).items():
        for c in cells:
            d = dbm.get((c["region"], rows_n), {})
            row = [c["region"], rows_n, num(c["hole_mse_rbm"])] + ([num(d.get("hole_mse_dbm"))] if dbm else [])
            row += [num(c["hole_mse_mean_fill"]), cell_rate(rate(c, "rf_correct_merged"))]
            row += [cell_rate(rate(d, "rf_correct_merged"))] if dbm else []
            rows.append(row + [cell_rate(rate(c, "rf_correct_mean_fill"))])
    return header, rows


__all__ = ["rbm_dbm"]
