"""A population of models as stacked, member-first parameters and one batched forward.

Three ways to run M members in one forward/backward, chosen per group by :func:`make_population`:

- ``mlp``: plain :class:`~genlab.models.MLP` s (no norm, no dropout) as batched matmuls
  (``torch.baddbmm``), weights stored ``(M, in, out)`` -- the fastest on CPU;
- ``vmap``: any other stateless module through ``torch.func.functional_call`` under
  ``torch.func.vmap`` (e.g. the CNN);
- ``loop``: modules vmap cannot batch (recurrent layers, BatchNorm, dropout) called member by
  member inside the same step -- still one backward per step, no speed-up.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from genlab._checks import fail
from genlab.models._neural import MLP, LogisticRegression

_ACT = {
    "relu": torch.relu,
    "leaky_relu": nn.functional.leaky_relu,
    "elu": nn.functional.elu,
    "gelu": nn.functional.gelu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
}


def _mlp_key(m: nn.Module):
    if type(m) not in (MLP, LogisticRegression):  # a subclass may override forward
        return None
    if m.norm is not None or m.dropout > 0:
        return None
    return (m.in_features, m.out_features, m.width, m.depth, m.activation, m.residual)


def shape_key(model: nn.Module) -> tuple:
    """Models with equal keys can share a population (same parameter shapes and structure)."""
    return (type(model).__name__,) + tuple((n, tuple(p.shape)) for n, p in model.named_parameters())


class Population:
    """Stacked parameters ``params`` (leaf tensors, member-first) and ``forward(x) -> (M, B, out)``."""

    mode = "base"
    params: list[torch.Tensor]

    def forward(self, x: torch.Tensor, shared: bool = False) -> torch.Tensor:
        raise NotImplementedError

    def load_into(self, models: Sequence[nn.Module], params: Sequence[torch.Tensor] | None = None) -> None:
        raise NotImplementedError


class MLPPopulation(Population):
    mode = "mlp"

    def __init__(self, models: Sequence[MLP], device) -> None:
        m0 = models[0]
        self.act = _ACT[m0.activation]
        self.residual = m0.residual
        self.params = []
        for k in range(len(m0.linears)):
            w = torch.stack([m.linears[k].weight.detach().T for m in models]).contiguous()  # (M, in, out)
            b = torch.stack([m.linears[k].bias.detach().unsqueeze(0) for m in models])  # (M, 1, out)
            self.params += [w.to(device).requires_grad_(), b.to(device).requires_grad_()]

    def forward(self, x: torch.Tensor, shared: bool = False) -> torch.Tensor:
        m = self.params[0].shape[0]
        if shared:  # (N, in) -> (M, N, in) without copying
            h = x.flatten(1).unsqueeze(0).expand(m, x.shape[0], -1)
        else:  # (M, B, in)
            h = x.flatten(2)
        n_layers = len(self.params) // 2
        for k in range(n_layers):
            z = torch.bmm(h, self.params[2 * k]) + self.params[2 * k + 1]  # (M, B, out); faster than baddbmm
            if k == n_layers - 1:
                return z
            a = self.act(z)
            h = h + a if self.residual and h.shape == a.shape else a
        return h

    def load_into(self, models, params=None) -> None:
        params = self.params if params is None else params
        with torch.no_grad():
            for i, model in enumerate(models):
                for k, linear in enumerate(model.linears):
                    linear.weight.copy_(params[2 * k][i].T)
                    linear.bias.copy_(params[2 * k + 1][i, 0])


class FuncPopulation(Population):
    """``vmap`` (or a per-member loop) over ``functional_call`` with stacked parameters."""

    def __init__(self, models: Sequence[nn.Module], device, use_vmap: bool) -> None:
        self.mode = "vmap" if use_vmap else "loop"
        self.models = list(models)
        params, buffers = stack_module_state(self.models)
        self.names = list(params)
        self.params = [params[n].detach().to(device).requires_grad_() for n in self.names]
        self.buffers = {n: b.to(device) for n, b in buffers.items()}
        self.base = copy.deepcopy(self.models[0]).to("meta")
        self.device = device

    def _call(self, params: dict, buffers: dict, x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.base, (params, buffers), (x,))

    def forward(self, x: torch.Tensor, shared: bool = False) -> torch.Tensor:
        params = dict(zip(self.names, self.params))
        if self.mode == "vmap":
            return vmap(self._call, in_dims=(0, 0, None if shared else 0))(params, self.buffers, x)
        outs = []
        for i, model in enumerate(self.models):
            p_i = {n: p[i] for n, p in params.items()}
            b_i = {n: b[i] for n, b in self.buffers.items()}  # views: BatchNorm updates land in place
            outs.append(functional_call(model.to(self.device), (p_i, b_i), (x if shared else x[i],)))
        return torch.stack(outs)

    def load_into(self, models, params=None) -> None:
        params = self.params if params is None else params
        with torch.no_grad():
            for i, model in enumerate(models):
                state = {n: p[i] for n, p in zip(self.names, params)}
                state.update({n: b[i] for n, b in self.buffers.items()})
                model.load_state_dict(state, strict=False)


def _vmap_ok(model: nn.Module) -> bool:
    bad = (nn.RNNBase, nn.BatchNorm1d, nn.BatchNorm2d, nn.Dropout)
    return not any(isinstance(m, bad) and not (isinstance(m, nn.Dropout) and m.p == 0) for m in model.modules())


POPULATION_MODES = ("auto", "mlp", "vmap", "loop")


def make_population(models: Sequence[nn.Module], device, mode: str = "auto") -> Population:
    """Run ``models`` (same shapes) as one population.

    ``mode='auto'`` picks the fastest exact way: ``mlp`` for plain MLPs (measured faster than
    ``vmap`` for the lecture MLP by ``genlab bench train``), ``vmap`` for other stateless
    modules, ``loop`` for those vmap cannot batch. Naming a mode forces it where it applies.
    """
    keys = {_mlp_key(m) for m in models}
    mlp_ok = len(keys) == 1 and None not in keys
    vmap_ok = all(_vmap_ok(m) for m in models)
    if mode == "mlp" and not mlp_ok:
        raise fail("mode", "train_many", "'mlp' only for plain MLPs (no norm, no dropout)", mode)
    if mode == "vmap" and not vmap_ok:
        raise fail("mode", "train_many", "'vmap' only for modules without RNN/BatchNorm/dropout", mode)
    if mode == "mlp" or (mode == "auto" and mlp_ok):
        return MLPPopulation(models, device)
    use_vmap = vmap_ok if mode == "auto" else mode == "vmap"
    return FuncPopulation(models, device, use_vmap=use_vmap)
