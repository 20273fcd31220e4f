"""tune@<name>: Optuna over epochs × batch size × learning rate, k-fold CV on a training subset.

Objective: mean validation loss over `folds` folds (sklearn KFold, shuffled, seeded) of
the variant's model trained with aelab.train.fit — for a β = 1 VAE the negative ELBO in
nats/image (reconstruction BCE + KL). The same budget (n_trials) runs with each sampler
in `samplers` (TPE seeded with tpe_startup_trials random trials first; random; grid over
epochs × batch_sizes × grid_lrs), reported side by side.

A trial whose training diverges (NaN/inf loss; fit raises TrainingDiverged) is recorded
as PRUNED with the message in its user attrs, never fatal; if every trial of a sampler
fails its `best` is absent and says why.

Storage: '' = SQLite at optuna/<name>/study.db, inside the stage's out (fresh each run:
DVC deletes outs first, and so does this stage); a database URL (e.g.
postgresql://user:pw@host/db) is shared among machines: the study is loaded if it
exists, so several `tune` runs add trials to one study and each reports all of them.
"""

from __future__ import annotations

import csv
import logging
import math
import re
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from ..core.errors import TrainingDiverged
from ..core.io import atomic_path, save_figure, write_json
from ..core.timing import TIMING_KEY
from ..core.params import TrainParams
from .config import TuneParams

log = logging.getLogger("aelab")


def storage_dir(name: str) -> Path:
    """The tune stage's own out (declared in dvc.yaml): the local SQLite study lives here."""
    return Path("optuna") / name


def redact(url: str) -> str:
    return re.sub(r"(://[^:/@]+:)[^@]+@", r"\1***@", url)


# seconds a SQLite writer waits for another worker's write lock; after sqlite3's default of
# 5 s Optuna raises StorageInternalError ("database is locked") and the stage fails
SQLITE_LOCK_WAIT_S = 120.0


def open_storage(url: str):
    """Optuna storage for `url`; SQLite URLs wait SQLITE_LOCK_WAIT_S for a locked database
    (several workers on one file) instead of failing the trial and the stage."""
    import optuna

    if not url.startswith("sqlite"):
        return url  # optuna builds RDB storages from other URLs with their drivers' defaults
    return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": SQLITE_LOCK_WAIT_S}})


def make_sampler(kind: str, cfg: TuneParams, seed: int):
    import optuna

    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=cfg.tpe_startup_trials)
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    space = {"epochs": list(cfg.epochs), "batch_size": list(cfg.batch_sizes), "lr": list(cfg.grid_lrs)}
    return optuna.samplers.GridSampler(space, seed=seed)


def objective(cfg: TuneParams, model_name: str, model_args, x: torch.Tensor, seed: int, device):
    """trial → mean validation loss over the folds (see module doc). x: (N, *shape)."""
    import optuna
    from sklearn.model_selection import KFold

    from ..models import build_model
    from ..train import fit

    folds = list(KFold(cfg.folds, shuffle=True, random_state=seed).split(np.arange(len(x))))

    def run(trial: "optuna.Trial") -> float:
        epochs = trial.suggest_categorical("epochs", list(cfg.epochs))
        bs = trial.suggest_categorical("batch_size", list(cfg.batch_sizes))
        lr = trial.suggest_float("lr", cfg.lr_min, cfg.lr_max, log=True)
        trained = max(1, round(epochs * cfg.epochs_scale))
        tc = TrainParams(epochs=trained, batch_size=bs, lr=lr)
        trial.set_user_attr("epochs_trained", trained)
        losses = []
        for k, (tr, va) in enumerate(folds):
            torch.manual_seed(seed + k)
            model = build_model(model_name, model_args, tuple(x.shape[1:]))
            try:
                res = fit(model, x[tr], x[va], tc, device, seed=seed + k, name=f"trial {trial.number} fold {k}")
            except TrainingDiverged as err:
                trial.set_user_attr("diverged", str(err))
                log.warning("tune: trial %d diverged: %s", trial.number, err)
                raise optuna.TrialPruned(str(err)) from None
            losses.append(res.test["loss"])
        value = float(np.mean(losses))
        trial.set_user_attr("fold_losses", [float(v) for v in losses])
        if not math.isfinite(value):
            trial.set_user_attr("diverged", f"validation loss {value}")
            raise optuna.TrialPruned(f"validation loss {value}")
        log.info("tune: trial %d (epochs %d, batch %d, lr %.4g): CV loss %.4f", trial.number, trained, bs, lr, value)
        return value

    return run


def run_samplers(cfg: TuneParams, name: str, model_name: str, model_args, x: torch.Tensor,
                 seed: int, device, storage) -> tuple[dict, list[dict], dict, dict]:
    """Optimise once per sampler; → (per-sampler summary, trial rows, {sampler: study},
    {sampler: wall seconds} — the last for the timing file only)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    base = cfg.study_name or f"tune-{name}"
    summary, rows, studies, seconds = {}, [], {}, {}
    for kind in cfg.samplers:
        study = optuna.create_study(study_name=f"{base}-{kind}", storage=storage, direction="minimize",
                                    sampler=make_sampler(kind, cfg, seed), load_if_exists=True)
        start = time.perf_counter()
        study.optimize(objective(cfg, model_name, model_args, x, seed, device), n_trials=cfg.n_trials,
                       gc_after_trial=False, show_progress_bar=False)
        # one snapshot of the trials: on a shared storage other workers keep adding trials, and
        # two reads could disagree (the figure's x and y once differed in length)
        trials = study.get_trials(deepcopy=False)
        summary[kind] = _summary(trials)
        seconds[kind] = time.perf_counter() - start
        rows += [_row(kind, t) for t in trials]
        studies[kind] = study
        log.info("tune@%s: %s sampler: %s", name, kind, summary[kind].get("best", summary[kind].get("no_best")))
    return summary, rows, studies, seconds


def _summary(trials: list) -> dict:
    """Counts, best trial and best-so-far curve of one snapshot of a study's trials."""
    from optuna.trial import TrialState

    states = [t.state for t in trials]
    out = {"n_trials": len(states), "n_complete": states.count(TrialState.COMPLETE),
           "n_pruned_or_diverged": states.count(TrialState.PRUNED), "n_failed": states.count(TrialState.FAIL)}
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    if done:
        best = min(done, key=lambda t: t.value)
        out["best"] = {"value": best.value, "trial": best.number, **best.params,
                       "epochs_trained": best.user_attrs.get("epochs_trained")}
        done.sort(key=lambda t: t.number)
        # the curve carries its own x: a figure that re-derives the trials from the rows can
        # disagree (another worker's trial read half-written: state RUNNING, value already set)
        out["best_so_far_trials"] = [t.number for t in done]
        out["best_so_far"] = [float(v) for v in np.minimum.accumulate([t.value for t in done])]
    else:
        out["no_best"] = "no trial completed (all diverged or failed)"
    return out


def _row(sampler: str, t) -> dict:
    return {"sampler": sampler, "trial": t.number, "state": t.state.name,
            "value": t.value if t.value is not None and math.isfinite(t.value) else None,
            "epochs": t.params.get("epochs"), "epochs_trained": t.user_attrs.get("epochs_trained"),
            "batch_size": t.params.get("batch_size"), "lr": t.params.get("lr"),
            "fold_losses": " ".join(f"{v:.4f}" for v in t.user_attrs.get("fold_losses", [])),
            "note": t.user_attrs.get("diverged", "")}


def write_trials(rows: list[dict], folder: Path) -> None:
    """trials.csv and trials.json: one record per trial of every sampler."""
    with atomic_path(folder / "trials.csv") as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    write_json(folder / "trials.json", rows)


def optuna_plots(study, folder: Path, seed: int, label: str) -> dict:
    """Optuna's matplotlib history and parameter-importance plots; → importances or a skip reason."""
    import optuna
    from optuna.trial import TrialState

    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        from optuna.visualization import matplotlib as ovm

        complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
        if not complete:
            return {"skipped": "no complete trial to plot"}
        ax = ovm.plot_optimization_history(study)  # Optuna's own title and style
        save_figure(ax.figure, folder / f"optuna_history_{label}.png")
        if len(complete) < 2:
            return {"importances_skipped": "parameter importances need >= 2 complete trials"}
        try:
            ev = optuna.importance.FanovaImportanceEvaluator(seed=seed)
            out["importances"] = dict(optuna.importance.get_param_importances(study, evaluator=ev))
            ax = ovm.plot_param_importances(study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=seed))
            save_figure(ax.figure, folder / f"optuna_importances_{label}.png")
        except (RuntimeError, ValueError, ZeroDivisionError) as err:  # e.g. constant values
            out["importances_skipped"] = f"{type(err).__name__}: {err}"
    return out


def samplers_figure(summary: dict, rows: list[dict], label: str):
    """Each trial's CV loss (dots; × = pruned/diverged) and the best so far, per sampler."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.8), layout="constrained")
    for i, (kind, s) in enumerate(summary.items()):
        mine = [r for r in rows if r["sampler"] == kind]
        done = [r for r in mine if r["state"] == "COMPLETE" and r["value"] is not None]
        ax.scatter([r["trial"] for r in done], [r["value"] for r in done], color=f"C{i}", alpha=0.5, s=25)
        if "best_so_far" in s:
            ax.plot(s["best_so_far_trials"], s["best_so_far"],
                    color=f"C{i}", drawstyle="steps-post",
                    label=f"{kind}: best {s['best']['value']:.2f} (trial {s['best']['trial']})")
        bad = [r for r in mine if r["state"] in ("PRUNED", "FAIL")]  # RUNNING: another worker's
        if bad:
            top = max((r["value"] for r in rows if r["value"] is not None), default=0.0)
            ax.scatter([r["trial"] for r in bad], [top] * len(bad), marker="x", color=f"C{i}",
                       label=f"{kind}: {len(bad)} pruned/diverged (drawn at the top)")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="trial", ylabel="mean validation loss (CV)", title=f"{label}: samplers with the same budget")
    ax.legend(fontsize=8)
    return fig


def tune(params, name: str) -> dict:
    """The stage: metrics/studies/tune_<name>.json, plots/studies/tune_<name>/, optuna/<name>/."""
    from ..core import paths
    from ..data.contract import load_processed, to_model_input
    from ..tasks.common import subset
    from ..core.io import rounded, staged_outputs
    from .common import check_variant, fresh_dir, setup, study_entry

    cfg, _ = study_entry(params, "tune", name)
    v = check_variant(params, cfg.variant, f"studies.tune.{name}.variant", dataset=cfg.dataset)
    device = setup(params)
    data = load_processed(paths.processed(v.dataset))
    idx = subset(len(data.x_train), cfg.subset, np.random.default_rng(cfg.seed))
    x = to_model_input(data.x_train[idx], data.meta)  # (subset, *shape)
    out = fresh_dir(storage_dir(name))
    storage = open_storage(cfg.storage or f"sqlite:///{(out / 'study.db').resolve()}")
    write_json(out / "storage.json", {"storage": redact(cfg.storage) if cfg.storage else "sqlite: study.db"})
    log.info("tune@%s: %s on %d images, %d folds, %d trials × %s", name, v.model, len(x), cfg.folds,
             cfg.n_trials, list(cfg.samplers))
    summary, rows, studies, seconds = run_samplers(cfg, name, v.model, v.model_cfg, x, cfg.seed, device, storage)
    from ..models import build_model

    units = build_model(v.model, v.model_cfg, tuple(x.shape[1:])).loss_units or "model loss units"
    study = f"tune_{name}"
    # figures, trial tables and metrics swapped in together, metrics last (io.staged_outputs)
    with staged_outputs(paths.study_plots(study), paths.study_data(study), paths.study_metrics(study)) as (
            plots, data_dir, metrics_file):
        plots.mkdir()
        data_dir.mkdir()
        write_trials(rows, data_dir)
        save_figure(samplers_figure(summary, rows, f"tune@{name}"), plots / "samplers.png")
        first = cfg.samplers[0]
        extra = optuna_plots(studies[first], plots, cfg.seed, first)
        bests = {k: s["best"] for k, s in summary.items() if "best" in s}
        metrics = {
            "variant": cfg.variant, "model": v.model,
            "objective": f"mean validation loss over {cfg.folds}-fold CV, {units} (the {v.model} "
                         "training loss: −ELBO for a β = 1 VAE)",
            "subset": len(x), "folds": cfg.folds, "n_trials_per_sampler": cfg.n_trials,
            "epochs_scale": cfg.epochs_scale,
            "storage": redact(cfg.storage) if cfg.storage else f"sqlite ({out / 'study.db'})",
            "samplers": summary, f"{first}_plots": extra,
        }
        if bests:
            winner = min(bests, key=lambda k: bests[k]["value"])
            metrics["best"] = {"sampler": winner, **bests[winner]}
        metrics = rounded(metrics)
        write_json(metrics_file, metrics)
    return {**metrics, TIMING_KEY: {"sampler_s": seconds}}  # wall clock goes to timing/, untracked
