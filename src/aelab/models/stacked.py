"""Stacked autoencoders with greedy layer-wise pretraining (Bengio et al. 2007).

own_fit runs four phases, each through train.fit (so there is still one loop):
  1..K  pretrain layer k: a one-hidden-layer AE (enc_k, dec_k) on the codes of layer k−1
        (layer 1 on the inputs, with the configured loss; later layers with MSE on codes);
        test accuracy = logistic regression on the frozen layer-k codes (fit on train);
  head  a softmax classifier on the frozen encoder (fit(..., params=head));
  finetune  encoder + head on cross-entropy.
FitResult.phases = {phase: {"test_accuracy", "seconds", "test_loss"}}.

In classification mode (after pretraining) forward's loss = CE(head(z), y) + the
reconstruction of a stop-gradient copy of z: the encoder is tuned on CE alone, as in
classic fine-tuning, while the decoders keep following it, so encode/decode/reconstruct
stay usable for the task suite. The mode is a buffer, so checkpoints keep it.
"""

from __future__ import annotations

import dataclasses
import math
import time

import torch
import torch.nn.functional as F
from torch import nn

from ..core.errors import ConfigError
from .base import Autoencoder, ModelOutput, ae_output
from .configs import StackedAEConfig


class _LayerAE(Autoencoder):
    """Layer k of the stack as its own AE, sharing enc_k/dec_k with the stacked model."""

    def __init__(self, owner: "StackedAutoencoder", k: int):
        super().__init__(owner.cfg, (owner.widths[k],))
        self.k, self.enc, self.dec, self.act = k, owner.enc[k], owner.dec[k], owner.act
        self.latent_dim = owner.widths[k + 1]
        first = k == 0
        self.loss = owner.cfg.loss if first else "mse"
        self.logits = owner.logits if first else owner.cfg.activation == "sigmoid"
        self.relu_out = not first and owner.cfg.activation == "relu"

    def encode(self, x):
        return self.act(self.enc(x))

    def forward(self, x, y=None) -> ModelOutput:
        z = self.encode(x)
        raw = self.dec(z)
        return ae_output(self.loss, raw.relu() if self.relu_out else raw, x, z, self.logits)


class StackedAutoencoder(Autoencoder):
    needs_labels = True
    monotone_objective = False  # phases change the objective (reconstruction, then CE)
    has_own_fit = True  # greedy layer-wise phases, each through train.fit

    def __init__(self, cfg: StackedAEConfig, input_shape):
        super().__init__(cfg, input_shape)
        cfg.validate("model_args")
        self.widths = [math.prod(self.input_shape), *cfg.hidden_sizes, cfg.latent_dim]
        self.latent_dim = self.widths[-1]
        self.enc = nn.ModuleList(nn.Linear(a, b) for a, b in zip(self.widths, self.widths[1:]))
        self.dec = nn.ModuleList(nn.Linear(b, a) for a, b in zip(self.widths, self.widths[1:]))
        self.head = nn.Linear(self.latent_dim, cfg.n_classes)
        self.act = torch.sigmoid if cfg.activation == "sigmoid" else torch.relu
        self.logits = cfg.output == "sigmoid"
        # the mode lives in a buffer (checkpoints keep it) mirrored by a bool (no sync per step)
        self.register_buffer("classify", torch.tensor(False))
        self._classify = False
        self.register_load_state_dict_post_hook(lambda m, _: m.set_classify(bool(m.classify)))
        from ..losses import LOSS_UNITS

        self.loss_units = LOSS_UNITS[cfg.loss] + " (+ CE nats when classifying)"

    def set_classify(self, flag: bool) -> None:
        """True after pretraining: forward adds the CE term (see the module docstring)."""
        self._classify = bool(flag)
        self.classify.fill_(self._classify)

    def encode(self, x):
        h = x.flatten(1)
        for layer in self.enc:
            h = self.act(layer(h))
        return h  # (B, latent_dim)

    def _decode_raw(self, z):
        h = z
        for layer in list(self.dec)[:0:-1]:  # dec_K … dec_2
            h = self.act(layer(h))
        return self.dec[0](h).reshape(len(z), *self.input_shape)

    def decode(self, z):
        raw = self._decode_raw(z)
        return torch.sigmoid(raw) if self.logits else raw

    def classify_logits(self, x):
        return self.head(self.encode(x))  # (B, n_classes)

    def forward(self, x, y=None) -> ModelOutput:
        z = self.encode(x)
        if not self._classify:
            return ae_output(self.cfg.loss, self._decode_raw(z), x, z, self.logits)
        out = ae_output(self.cfg.loss, self._decode_raw(z.detach()), x, z, self.logits)
        if y is None:
            return out
        logits = self.head(z)
        ce = F.cross_entropy(logits.float(), y, ignore_index=-1)
        acc = (logits.argmax(1) == y).float().mean()
        out.logs.update(ce_nats=ce.detach(), accuracy=acc.detach())
        return ModelOutput(out.loss + ce, out.recon, z, out.logs)

    # --- greedy layer-wise training ------------------------------------------------------

    def own_fit(self, *, x_train, x_test, cfg, device, y_train=None, y_test=None, seed: int = 0,
                   name: str = "stacked_ae", on_epoch=None):
        from ..train import FitResult, fit

        self._check_labels(y_train, y_test)
        self.to(device)
        step, history, phases, start = [0], [], {}, time.perf_counter()

        def run(phase, model, xtr, xte, epochs, **kw):
            def log_row(epoch, row):
                step[0] += 1
                row = {"epoch": step[0], **{f"{phase}/{k}": v for k, v in row.items() if k != "epoch"}}
                history.append(row)
                if on_epoch is not None:
                    on_epoch(step[0], row)

            t0 = time.perf_counter()
            res = fit(model, xtr, xte, dataclasses.replace(cfg, epochs=epochs or cfg.epochs), device,
                      seed=seed, name=f"{name}/{phase}", on_epoch=log_row, **kw)
            return res, time.perf_counter() - t0

        self.set_classify(False)
        h_tr, h_te = x_train.flatten(1), x_test.flatten(1)
        for k in range(len(self.enc)):
            layer = _LayerAE(self, k)
            res, secs = run(f"layer{k + 1}", layer, h_tr, h_te, self.cfg.pretrain_epochs)
            h_tr, h_te = _map(layer.encode, h_tr, device), _map(layer.encode, h_te, device)
            acc = _probe_accuracy(h_tr, y_train, h_te, y_test, seed)
            phases[f"pretrain_layer{k + 1}"] = _phase(acc, secs, res.test["loss"])
        self.set_classify(True)
        labels = dict(y_train=y_train, y_test=y_test)
        res, secs = run("head", self, x_train, x_test, self.cfg.head_epochs,
                        params=list(self.head.parameters()), **labels)
        phases["head"] = _phase(self.accuracy(x_test, y_test, device), secs, res.test["loss"])
        res, secs = run("finetune", self, x_train, x_test, self.cfg.finetune_epochs, **labels)
        phases["finetune"] = _phase(self.accuracy(x_test, y_test, device), secs, res.test["loss"])
        seconds = time.perf_counter() - start
        epochs = step[0]
        self.eval()
        return FitResult(epochs, seconds, len(x_train) * epochs / max(seconds, 1e-9), res.train,
                         res.test, history, phases)

    def _check_labels(self, y_train, y_test) -> None:
        for split, y in (("train", y_train), ("test", y_test)):
            if y is None or (y < 0).all():
                raise ConfigError("model", f"stacked_ae needs class labels; the {split} split has none")
            if int(y.max()) >= self.cfg.n_classes:
                raise ConfigError("model_args.n_classes", f"is {self.cfg.n_classes} but the {split} "
                                  f"labels reach {int(y.max())}")

    @torch.no_grad()
    def accuracy(self, x, y, device, batch: int = 1024) -> float:
        self.eval()
        pred = _map(self.classify_logits, x, device, batch).argmax(1)
        keep = y >= 0
        return float((pred[keep] == y[keep]).float().mean())


def _phase(acc: float, seconds: float, test_loss: float) -> dict[str, float]:
    return {"test_accuracy": round(acc, 4), "seconds": round(seconds, 2), "test_loss": round(test_loss, 6)}


@torch.no_grad()  # not inference_mode: the codes are training inputs of the next phase
def _map(fn, x, device, batch: int = 1024) -> torch.Tensor:
    return torch.cat([fn(x[i:i + batch].to(device)).float() for i in range(0, len(x), batch)]).cpu()


def _probe_accuracy(h_tr, y_tr, h_te, y_te, seed: int, max_train: int = 10000) -> float:
    """Logistic regression on frozen codes (fit on train, scored on test)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    tr, te = (y_tr >= 0).numpy(), (y_te >= 0).numpy()
    xtr, ytr = h_tr.numpy()[tr][:max_train], y_tr.numpy()[tr][:max_train]
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, random_state=seed))
    clf.fit(xtr, ytr)
    return float(clf.score(h_te.numpy()[te], y_te.numpy()[te]))
