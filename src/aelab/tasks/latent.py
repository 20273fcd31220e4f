"""latent: how the codes of the test subset are arranged, and how well they separate classes.

Figure: 1-D codes as per-label histograms, 2-D codes as a scatter coloured by label,
larger codes projected onto the first two principal components (PCA fitted on train codes).
Metrics: silhouette (sklearn, labels as clusters, Euclidean, on at most silhouette_max test
codes; −1…1, higher = better separated); knn_accuracy (k-nearest-neighbour classifier fit
on train codes, scored on test codes; knn_chance = majority-class rate for comparison);
code_std_mean (mean per-dimension std of test codes; ~0 flags a collapsed code);
active_dims (dimensions whose code varies across test images with variance ≥
active_variance, Burda et al. 2016: a 300-D VAE may use 20 of them);
kl_nats and kl_nats_max_dim (models with a Gaussian posterior: the mean test KL
to N(0, I) in total and in the dimension that carries most — the posterior-collapse check
reads the latter: a 300-D VAE that uses 20 dimensions is not collapsed);
code_mmd2_vs_normal (how Gaussian the test codes are: multi-bandwidth RBF MMD² against
N(0, I), aelab.stats.code_mmd2) beside code_mmd2_floor (two N(0, I) samples of that size).
Rates carry `_n`, `_lo`, `_hi` (Wilson 95% interval).
"""

from __future__ import annotations

import numpy as np

from ..losses import kl_normal_per_dim
from ..stats import code_mmd2, rate_entry
from .common import Context, batched, codes, save

MAX_LEGEND_CLASSES = 12  # more classes than this get a colour bar instead of a legend


def _label_names(ctx: Context, y: np.ndarray) -> np.ndarray:
    names = ctx.meta.get("class_names") or []
    return np.array([names[i] if 0 <= i < len(names) else str(i) for i in y])


def cluster_metrics(ctx: Context, z_train, y_train, z_test, y_test) -> dict:
    from sklearn.metrics import silhouette_score
    from sklearn.neighbors import KNeighborsClassifier

    p = ctx.params
    idx = ctx.rng("latent").permutation(len(z_test))[:p.silhouette_max]
    k = min(p.knn_k, len(z_train))
    knn = KNeighborsClassifier(n_neighbors=k).fit(z_train, y_train)
    return {"silhouette": float(silhouette_score(z_test[idx], y_test[idx], random_state=ctx.seed("latent"))),
            **rate_entry("knn_accuracy", knn.predict(z_test) == y_test), "knn_k": k,
            "knn_chance": float(np.bincount(y_test).max() / len(y_test))}


def run_latent(ctx: Context) -> dict:
    z_train, z_test = codes(ctx, "train").numpy(), codes(ctx, "test").numpy()  # (N, latent)
    y_train, y_test = ctx.y_train, ctx.y_test
    dim = z_test.shape[1]
    out: dict = {"dim": dim, "code_std_mean": float(z_test.std(0).mean()),
                 "active_dims": int((z_test.var(0) >= ctx.params.active_variance).sum()),
                 **code_mmd2(z_test, ctx.seed("latent_mmd"))}
    if ctx.model.has_posterior:
        kl = batched(ctx, lambda x: kl_normal_per_dim(*ctx.model.posterior(x)), ctx.x_test).mean(0)  # (latent,)
        out.update(kl_nats=float(kl.sum()), kl_nats_max_dim=float(kl.max()))
    labelled = (y_test >= 0).all() and (y_train >= 0).all()
    if labelled and len(np.unique(y_test)) >= 2 and len(np.unique(y_train)) >= 2:
        out.update(cluster_metrics(ctx, z_train, y_train, z_test, y_test))
        out["n_classes"] = int(len(np.unique(y_test)))
    else:
        ctx.skip("latent.cluster_metrics", "needs labels with at least two classes in train and test")
    if dim > 2:
        from sklearn.decomposition import PCA

        pca = PCA(2).fit(z_train)
        shown = pca.transform(z_test)
        out["projection"] = "pca"
        out["pca_explained_variance_2d"] = float(pca.explained_variance_ratio_.sum())
        axes = [f"PC{i + 1} ({v:.0%} of variance)" for i, v in enumerate(pca.explained_variance_ratio_)]
    else:
        shown, out["projection"], axes = z_test, "none", ["z[0]", "z[1]"]
    _figure(ctx, shown, y_test if labelled else None, axes, out)
    return out


def _figure(ctx: Context, z: np.ndarray, y: np.ndarray | None, axes: list[str], out: dict) -> None:
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    many = y is not None and len(np.unique(y)) > MAX_LEGEND_CLASSES
    label = None if y is None else (y if many else _label_names(ctx, y))
    df = pd.DataFrame({"z0": z[:, 0], "label": label if label is not None else "all"})
    order = None if y is None or many else list(dict.fromkeys(_label_names(ctx, np.sort(np.unique(y)))))
    if z.shape[1] == 1:
        sns.histplot(df, x="z0", hue="label", hue_order=order, element="step", bins=50,
                     stat="density", common_norm=False, ax=ax, legend=not many)
        ax.set(xlabel="code z[0]", ylabel="density")
    else:
        df["z1"] = z[:, 1]
        sns.scatterplot(df, x="z0", y="z1", hue="label", hue_order=order, s=10, alpha=0.7,
                        linewidth=0, ax=ax, legend=not many, palette="viridis" if many else "tab10")
        ax.set(xlabel=axes[0], ylabel=axes[1])
    if many:
        sm = plt.cm.ScalarMappable(cmap="viridis", norm=plt.Normalize(y.min(), y.max()))
        fig.colorbar(sm, ax=ax, label="label index")
    elif ax.get_legend() is not None:
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1), title="label")
    extra = ""
    if "silhouette" in out:
        extra = f" — silhouette {out['silhouette']:.2f}, {out['knn_k']}-NN accuracy {out['knn_accuracy']:.1%}"
    ax.set_title(f"Test codes ({out['dim']}-D{', PCA' if out['projection'] == 'pca' else ''}){extra}",
                 fontsize=10)
    save(ctx, fig, "latent")
