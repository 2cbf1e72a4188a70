"""Optimizers for a population: every state tensor is member-first ``(M, ...)`` and every
hyperparameter a per-member vector, so one update serves all members.

The formulas are ``torch.optim``'s (SGD with momentum/Nesterov, Adam, AdamW, RMSprop, Adagrad);
the tests compare each against ``torch.optim`` on separate models.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from genlab.train._config import TrainConfig


class PopulationOptimizer:
    """Apply ``config.optimizer``'s update to stacked parameters, member by member.

    Members whose ``active`` flag is False keep their parameters and optimizer state.
    """

    def __init__(self, params: Sequence[torch.Tensor], configs: Sequence[TrainConfig]) -> None:
        kinds = {c.optimizer for c in configs}
        assert len(kinds) == 1, "one optimizer kind per population group"
        self.kind = kinds.pop()
        self.params = list(params)
        ref = self.params[0]

        def vec(values) -> torch.Tensor:
            return torch.tensor(list(values), dtype=ref.dtype, device=ref.device)

        self.momentum = vec(c.momentum for c in configs)
        self.weight_decay = vec(c.weight_decay for c in configs)
        self.beta1 = vec(c.betas[0] for c in configs)
        self.beta2 = vec(c.betas[1] for c in configs)
        self.eps = vec(c.eps for c in configs)
        self.alpha = vec(c.alpha for c in configs)
        self.nesterov = configs[0].nesterov
        self.use_momentum = bool((self.momentum > 0).any())
        # p -= lr * grad and nothing else: a population may apply it inside its backward pass
        self.plain_sgd = self.kind == "sgd" and not self.use_momentum and not bool((self.weight_decay > 0).any())
        self.t = 0
        zeros = [torch.zeros_like(p) for p in self.params]
        self.buf = [z.clone() for z in zeros] if self.use_momentum else None
        self.m = [z.clone() for z in zeros] if self.kind in ("adam", "adamw") else None
        self.v = [z.clone() for z in zeros] if self.kind in ("adam", "adamw", "rmsprop", "adagrad") else None

    @staticmethod
    def _per_member(vector: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return vector.view((-1,) + (1,) * (like.dim() - 1))

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor], lr: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
        """One update with per-member learning rates ``lr`` (M,) for members where ``active``.

        Returns the members (M,) bool whose update came out finite. A member whose new weights
        would hold a NaN or inf (a non-finite gradient, or ``lr * step`` overflowing) is not
        updated at all: its weights and optimizer state stay as before the call.
        """
        self.t += 1
        t = self.t
        if self.plain_sgd:
            news = torch._foreach_sub(self.params, torch._foreach_mul(list(grads), [self._per_member(lr, g) for g in grads]))
            finite = self._finite(news)
            keep = active & finite
            if bool(keep.all()):  # the common case: one fused copy per tensor
                torch._foreach_copy_(self.params, news)
            else:
                for p, new in zip(self.params, news):
                    p.copy_(torch.where(self._per_member(keep, p), new, p))
            return finite
        writes = []  # (target, new value): written only once every member's new weights are known finite
        news = []
        for k, (p, g) in enumerate(zip(self.params, grads)):
            pm = lambda v, p=p: self._per_member(v, p)  # noqa: E731 - (M,) -> (M, 1, ..., 1)
            lr_k, wd = pm(lr), pm(self.weight_decay)
            if self.kind == "adamw":
                d = g
                base = p * (1 - lr_k * wd)  # decoupled weight decay
            else:
                d = g + wd * p
                base = p
            if self.kind == "sgd":
                if self.use_momentum:
                    mom = pm(self.momentum)
                    buf = d.clone() if t == 1 else self.buf[k] * mom + d
                    writes.append((self.buf[k], buf))
                    d = d + mom * buf if self.nesterov else torch.where(mom > 0, buf, d)
                new = p - lr_k * d
            elif self.kind in ("adam", "adamw"):
                b1, b2 = pm(self.beta1), pm(self.beta2)
                m = self.m[k] + (d - self.m[k]) * (1 - b1)
                v = self.v[k] * b2 + (1 - b2) * d * d
                writes += [(self.m[k], m), (self.v[k], v)]
                step_size = lr_k / (1 - b1**t)
                denom = v.sqrt() / (1 - b2**t).sqrt() + pm(self.eps)
                new = base - step_size * (m / denom)
            elif self.kind == "rmsprop":
                a = pm(self.alpha)
                v = self.v[k] * a + (1 - a) * d * d
                writes.append((self.v[k], v))
                step = d / (v.sqrt() + pm(self.eps))
                if self.use_momentum:
                    buf = self.buf[k] * pm(self.momentum) + step
                    writes.append((self.buf[k], buf))
                    step = buf
                new = p - lr_k * step
            else:  # adagrad (lr_decay 0, initial accumulator 0)
                v = self.v[k] + d * d
                writes.append((self.v[k], v))
                new = p - lr_k * (d / (v.sqrt() + pm(self.eps)))
            news.append(new)
            writes.append((p, new))
        finite = self._finite(news)
        keep = active & finite
        everyone = bool(keep.all())
        for target, value in writes:
            target.copy_(value if everyone else torch.where(self._per_member(keep, target), value, target))
        return finite

    @staticmethod
    def _finite(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
        """(M,) bool: every entry of member i is finite in every tensor."""
        return torch.stack([torch.isfinite(x).flatten(1).all(1) for x in tensors]).all(0)
