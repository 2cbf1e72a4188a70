"""The one interface every measurement shares: a model and data become an :class:`Objective`.

An ``Objective`` is the loss as a pure function of one flat parameter vector ``theta``
(shape ``(P,)``), evaluated with ``torch.func.functional_call`` on a private copy of the model,
so a measurement can never displace the caller's weights, change ``requires_grad`` or leave the
model in ``eval()`` mode, even when interrupted. It counts what it spends (forward passes,
gradients, Hessian-vector products) so every result can report its cost.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genlab._checks import ParameterError, check_choice, fail

LOSSES = ("cross_entropy", "mse")


def as_tensors(data, split: str = "train", *, dtype=torch.float32, device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """``(x, y)`` tensors from a genlab dataset (``x_<split>``, ``y_<split>``) or an ``(x, y)`` pair."""
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
    elif hasattr(data, f"x_{split}"):
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
    else:
        raise fail("data", "genlab.measure", "an (x, y) pair or a dataset with x_train/y_train", type(data).__name__)
    # np.array copies: datasets hold read-only arrays, which torch cannot wrap safely
    x = (x.detach() if torch.is_tensor(x) else torch.from_numpy(np.array(x))).to(device=device, dtype=dtype)
    y = (y.detach() if torch.is_tensor(y) else torch.from_numpy(np.array(y))).to(device=device)
    if y.dtype.is_floating_point:
        y = y.to(dtype)
    return x, y


def loss_value(out: torch.Tensor, y: torch.Tensor, loss: str | Callable) -> torch.Tensor:
    """Mean loss of outputs ``out`` (N, C) or (N,) against ``y``."""
    if callable(loss):
        return loss(out, y)
    if loss == "cross_entropy":
        return F.cross_entropy(out, y)
    if out.dim() == 2 and out.shape[1] == 1 and y.dim() == 1:
        out = out[:, 0]
    return F.mse_loss(out, y.to(out.dtype))


def default_loss(y: torch.Tensor) -> str:
    """Cross-entropy for integer targets, squared error for real ones."""
    return "mse" if y.dtype.is_floating_point else "cross_entropy"


@contextlib.contextmanager
def untouched(model: nn.Module) -> Iterator[nn.Module]:
    """Guarantee that ``model`` leaves the block exactly as it entered it.

    Restores parameter and buffer values in place (tensor identities kept, so optimizers that
    hold the parameters stay valid), ``.grad``, ``requires_grad`` and every module's ``training``
    flag, also on exceptions and ``KeyboardInterrupt``.
    """
    tensors = dict(model.state_dict(keep_vars=True))
    saved = {k: v.detach().clone() for k, v in tensors.items()}
    grads = {p: (None if p.grad is None else p.grad.detach().clone()) for p in model.parameters()}
    flags = {p: p.requires_grad for p in model.parameters()}
    modes = {m: m.training for m in model.modules()}
    try:
        yield model
    finally:
        with torch.no_grad():
            for k, v in tensors.items():
                v.copy_(saved[k])
        for p, g in grads.items():
            p.grad = g
        for p, r in flags.items():
            p.requires_grad_(r)
        for m, t in modes.items():
            m.training = t


class Objective:
    """A loss as a function of one flat parameter vector, with a cost counter.

    Build it with :meth:`from_model` (a model, data and a loss) or directly from a function
    ``fn(theta) -> scalar`` and a point ``theta`` (e.g. a quadratic with a known Hessian).

    Attributes
    ----------
    theta : Tensor (P,)
        The point the measurement is taken at (a detached copy).
    n_forward, n_grad, n_hvp : int
        Loss evaluations, gradients and Hessian-vector products spent so far.
    """

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], theta: torch.Tensor, *, model=None,
                 names=None, shapes=None, x=None, y=None, loss=None) -> None:
        self.fn = fn
        self.theta = theta.detach().clone()
        self.model, self.names, self.shapes = model, names, shapes
        self.x, self.y, self.loss = x, y, loss
        self.n_forward = self.n_grad = self.n_hvp = 0

    @classmethod
    def from_model(cls, model: nn.Module, data, *, loss: str | Callable | None = None, split: str = "train",
                   train_mode: bool = False, dtype: torch.dtype | None = None) -> Objective:
        """The mean loss of ``model`` on ``data`` as a function of its flat parameters.

        ``train_mode`` chooses dropout/batch-norm behaviour explicitly (default: eval mode);
        ``dtype`` (e.g. ``torch.float64``) casts a private copy of the model and the inputs.
        """
        if not isinstance(model, nn.Module):
            raise fail("model", "genlab.measure", "an nn.Module or an Objective", type(model).__name__)
        p0 = next(model.parameters(), None)
        device = p0.device if p0 is not None else torch.device("cpu")
        dtype = dtype or (p0.dtype if p0 is not None else torch.float32)
        x, y = as_tensors(data, split, dtype=dtype, device=device)
        loss = loss if loss is not None else default_loss(y)
        if not callable(loss):
            check_choice(loss, "loss", "genlab.measure", LOSSES)
        # A private copy: the caller's module is never swapped, re-moded or cast.
        clone = copy.deepcopy(model).to(dtype)
        clone.train(train_mode)
        names = [n for n, _ in clone.named_parameters()]
        params = [p.detach() for _, p in clone.named_parameters()]
        shapes = [p.shape for p in params]
        buffers = {n: b for n, b in clone.named_buffers()}
        sizes = [p.numel() for p in params]

        def fn(theta: torch.Tensor) -> torch.Tensor:
            tensors = {n: t.view(s) for n, t, s in zip(names, torch.split(theta, sizes), shapes)}
            out = torch.func.functional_call(clone, (tensors, buffers), (x,))
            return loss_value(out, y, loss)

        theta = torch.cat([p.reshape(-1) for p in params]) if params else torch.zeros(0, dtype=dtype)
        return cls(fn, theta, model=clone, names=names, shapes=shapes, x=x, y=y, loss=loss)

    @property
    def n_params(self) -> int:
        return self.theta.numel()

    def unflatten(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        sizes = [int(np.prod(s)) for s in self.shapes]
        return {n: t.view(s) for n, t, s in zip(self.names, torch.split(theta, sizes), self.shapes)}

    def value(self, theta: torch.Tensor | None = None) -> float:
        self.n_forward += 1
        with torch.no_grad():
            return float(self.fn(self.theta if theta is None else theta))

    def grad(self, theta: torch.Tensor | None = None) -> torch.Tensor:
        self.n_grad += 1
        th = (self.theta if theta is None else theta).detach().requires_grad_(True)
        with torch.enable_grad():
            return torch.autograd.grad(self.fn(th), th)[0].detach()

    def hvp(self, v: torch.Tensor) -> torch.Tensor:
        """Hessian-vector product ``H v`` at ``theta`` by double back-propagation.

        The graph lives only inside this call (PyHessian kept one alive for the object's
        lifetime). Measured on CPU it is 1.5-2.5x faster than ``torch.func`` forward-over-reverse
        (``jvp`` of ``grad``) and avoids its first-call warm-up; the two agree to rounding (tested).
        """
        self.n_hvp += 1
        th = self.theta.detach().requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(self.fn(th), th, create_graph=True)
            (hv,) = torch.autograd.grad(g, th, v.to(self.theta.dtype).reshape(-1))
        return hv.detach()

    def outputs(self, theta: torch.Tensor | None = None, x: torch.Tensor | None = None) -> torch.Tensor:
        """Model outputs at ``theta`` (needs an objective built from a model)."""
        if self.model is None:
            raise ParameterError("This measurement needs an Objective built with Objective.from_model.")
        self.n_forward += 1
        theta = self.theta if theta is None else theta
        with torch.no_grad():
            return torch.func.functional_call(self.model, (self.unflatten(theta), dict(self.model.named_buffers())),
                                              (self.x if x is None else x,))

    def spent(self) -> dict[str, int]:
        return {"n_forward": self.n_forward, "n_grad": self.n_grad, "n_hvp": self.n_hvp}


def as_objective(model, data=None, *, loss=None, split: str = "train", train_mode: bool = False,
                 dtype: torch.dtype | None = None) -> Objective:
    """Accept an :class:`Objective` as it is, or build one from ``model`` and ``data``."""
    if isinstance(model, Objective):
        return model
    if data is None:
        raise fail("data", "genlab.measure", "an (x, y) pair or a dataset when a model is given", None)
    return Objective.from_model(model, data, loss=loss, split=split, train_mode=train_mode, dtype=dtype)


def generator(seed: int, device="cpu") -> torch.Generator:
    """A private torch generator (library code never touches the global RNG)."""
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g
