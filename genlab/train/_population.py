"""A population of models as stacked, member-first parameters and one batched forward.

Three ways to run M members in one forward/backward, chosen per group by :func:`make_population`:

- ``mlp``: plain :class:`~genlab.models.MLP` s (no norm, no dropout) as batched matmuls
  (``torch.baddbmm``) with a hand-written backward -- the fastest on CPU;
- ``vmap``: any other stateless module through ``torch.func.functional_call`` under
  ``torch.func.vmap`` (e.g. the CNN);
- ``loop``: modules vmap cannot batch (recurrent layers, BatchNorm, dropout) called member by
  member inside the same step -- still one backward per step, no speed-up.

Every population runs in train mode while training and in eval mode inside
:meth:`Population.evaluating` (BatchNorm reads its running statistics, dropout is off). In
``loop`` mode each member draws its training randomness (dropout masks) from its own stream:
the device's default generator is loaded with that member's state before its forward and the
state is stored back after it, so a member's masks depend on its seed alone, never on the
other members, and the caller's global RNG is left as it was.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator, Sequence

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
    """Models with equal keys can share a population (same parameter shapes and structure).

    A genlab model's constructor arguments other than its initialization count as structure:
    a residual MLP and a plain one have the same shapes but not the same forward (a batched
    population runs every member through one member's forward).
    """
    config = model.config() if callable(getattr(model, "config", None)) else {}
    structure = tuple(sorted((k, repr(v)) for k, v in config.items() if k not in ("seed", "init", "init_scale")))
    return (type(model).__name__, structure) + tuple((n, tuple(p.shape)) for n, p in model.named_parameters())


class Population:
    """Stacked parameters ``params`` (leaf tensors, member-first) and ``forward(x) -> (M, B, out)``."""

    mode = "base"
    params: list[torch.Tensor]

    def forward(self, x: torch.Tensor, shared: bool = False) -> torch.Tensor:
        raise NotImplementedError

    def buffer_tensors(self) -> list[torch.Tensor]:
        """Stacked buffers ``(M, ...)`` that a train-mode forward may update (BatchNorm statistics)."""
        return []

    @contextlib.contextmanager
    def evaluating(self) -> Iterator[None]:
        """Eval mode inside the block (running statistics, no dropout), train mode again after it."""
        yield

    def load_into(self, models: Sequence[nn.Module], params: Sequence[torch.Tensor] | None = None,
                  buffers: Sequence[torch.Tensor] | None = None) -> None:
        raise NotImplementedError


_INPLACE = {"relu": torch.relu_, "sigmoid": torch.sigmoid_, "tanh": torch.tanh_}


def _act_backward(kind: str, grad: torch.Tensor, z: torch.Tensor, a: torch.Tensor, inplace: bool = False) -> torch.Tensor:
    """``grad * act'(z)`` with the kernels autograd uses (``a = act(z)``); ``inplace`` may overwrite ``grad``."""
    aten = torch.ops.aten
    if kind == "relu":
        if inplace:
            return aten.threshold_backward.grad_input(grad, a, 0, grad_input=grad)
        return aten.threshold_backward(grad, a, 0)
    if kind == "leaky_relu":
        return aten.leaky_relu_backward(grad, z, 0.01, False)
    if kind == "elu":
        return aten.elu_backward(grad, 1.0, 1.0, 1.0, False, z)
    if kind == "gelu":
        return aten.gelu_backward(grad, z)
    if kind == "sigmoid":
        return aten.sigmoid_backward(grad, a)
    return aten.tanh_backward(grad, a)  # tanh


class MLPPopulation(Population):
    """Plain MLPs as batched matmuls, with a hand-written backward pass.

    Hidden weights are stored as ``nn.Linear`` stores them, ``(M, out, in)``, biases
    ``(M, 1, out)``; the output layer computes the logits transposed, ``(M, C, B)``, and its
    bias is ``(M, C, 1)``: with C = 10 outputs this layout makes the narrow matmuls and the
    softmax over classes about twice as fast on CPU as ``(M, B, C)``. :meth:`loss_and_grads`
    replaces autograd (the same formulas and kernels, no graph), tested against autograd
    and against plain PyTorch loops. For plain SGD the engine calls :meth:`loss_and_delta`
    and then :meth:`backward` with the learning rates, which updates the weights inside
    their gradients' matrix products.
    """

    mode = "mlp"

    def __init__(self, models: Sequence[MLP], device) -> None:
        m0 = models[0]
        self.activation = m0.activation
        self.act = _ACT[m0.activation]
        self._act_inplace = _INPLACE.get(m0.activation)
        self.residual = m0.residual
        self.params = []
        n_layers = len(m0.linears)
        for k in range(n_layers):
            w = torch.stack([m.linears[k].weight.detach() for m in models]).contiguous()  # (M, out, in)
            b = torch.stack([m.linears[k].bias.detach() for m in models])  # (M, out)
            b = b.unsqueeze(2) if k == n_layers - 1 else b.unsqueeze(1)  # (M, C, 1) or (M, 1, out)
            self.params += [w.to(device).requires_grad_(), b.contiguous().to(device).requires_grad_()]

    def _forward_t(self, h: torch.Tensor, keep: list | None = None) -> torch.Tensor:
        """Logits ``(M, C, B)`` of inputs ``h`` (M, B, in); ``keep`` collects (h, z, a) per hidden layer."""
        n_layers = len(self.params) // 2
        for k in range(n_layers - 1):
            w, b = self.params[2 * k], self.params[2 * k + 1]
            z = torch.baddbmm(b, h, w.transpose(1, 2))  # (M, B, out)
            # relu, sigmoid and tanh differentiate through their output: overwrite z in place
            a = self._act_inplace(z) if self.activation in _INPLACE else self.act(z)
            if keep is not None:
                keep.append((h, z, a))
            h = h + a if self.residual and h.shape == a.shape else a
        w, b = self.params[-2], self.params[-1]
        if keep is not None:
            keep.append((h, None, None))
        return torch.baddbmm(b, w, h.transpose(1, 2))  # (M, C, B)

    def forward(self, x: torch.Tensor, shared: bool = False) -> torch.Tensor:
        m = self.params[0].shape[0]
        if shared:  # (N, in) -> (M, N, in) without copying
            h = x.flatten(1).unsqueeze(0).expand(m, x.shape[0], -1)
        else:  # (M, B, in)
            h = x.flatten(2)
        return self._forward_t(h).transpose(1, 2).contiguous()  # (M, B, C)

    @torch.no_grad()
    def loss_and_delta(self, x: torch.Tensor, y: torch.Tensor, loss: str) -> tuple[torch.Tensor, torch.Tensor, list]:
        """Mean loss per member (M,) on the batch ``x`` (M, B, in), ``y``; the loss gradient
        with respect to the logits ``(M, C, B)``; and what :meth:`backward` needs of the forward."""
        keep: list = []
        zt = self._forward_t(x.flatten(2), keep)  # (M, C, B)
        batch = zt.shape[2]
        if loss == "cross_entropy":  # as F.cross_entropy: log_softmax over the classes
            log_p = torch.log_softmax(zt, 1)
            label = y.unsqueeze(1)  # (M, 1, B)
            value = log_p.gather(1, label).mean((1, 2)).neg_()
            d = log_p.exp_()  # softmax, minus one at the label, over the batch size
            d.scatter_add_(1, label, torch.full(label.shape, -1.0, dtype=d.dtype, device=d.device)).div_(batch)
        else:  # mean squared error over batch and outputs
            target = y.unsqueeze(1) if y.dim() == 2 else y.transpose(1, 2)  # (M, C, B)
            diff = zt - target
            value = diff.pow(2).mean((1, 2))
            d = diff.mul_(2.0 / diff[0].numel())
        return value, d, keep

    @torch.no_grad()
    def backward(self, d: torch.Tensor, keep: list, sgd_lr: torch.Tensor | None = None) -> list | None:
        """Gradients of every parameter from the logits' gradient ``d`` (consumed).

        With ``sgd_lr`` (M,) nothing is returned: each member takes the plain SGD step
        ``p -= lr * grad`` in place, the weights' inside their gradient's matrix product
        (``baddbmm_``, no gradient tensors, no separate update pass). Each weight is read for
        the gradient flowing back before it is updated.
        """
        grads: list | None = None if sgd_lr is not None else [None] * len(self.params)
        if sgd_lr is not None:
            d.mul_(sgd_lr.view(-1, 1, 1))  # every gradient is linear in d: all come out times lr

        def weight(k: int, a: torch.Tensor, b: torch.Tensor) -> None:
            if grads is None:
                self.params[k].baddbmm_(a, b, alpha=-1)
            else:
                grads[k] = torch.bmm(a, b)

        def bias(k: int, g: torch.Tensor) -> None:
            if grads is None:
                self.params[k].sub_(g)
            else:
                grads[k] = g

        h = keep[-1][0]
        dh = torch.bmm(d.transpose(1, 2), self.params[-2])  # (M, B, in), before the output layer moves
        weight(len(self.params) - 2, d, h)  # (M, C, in)
        bias(len(self.params) - 1, d.sum(2, keepdim=True))  # (M, C, 1)
        for k in range(len(keep) - 2, -1, -1):
            h, z, a = keep[k]
            # dh is needed again only by a residual connection: otherwise overwrite it
            dz = _act_backward(self.activation, dh, z, a, inplace=not self.residual)
            if k > 0:
                dh_in = torch.bmm(dz, self.params[2 * k])  # (M, B, in)
                dh = dh + dh_in if self.residual and h.shape == a.shape else dh_in
            weight(2 * k, dz.transpose(1, 2), h)  # (M, out, in)
            bias(2 * k + 1, dz.sum(1, keepdim=True))  # (M, 1, out)
        return grads

    def loss_and_grads(self, x: torch.Tensor, y: torch.Tensor, loss: str) -> tuple[torch.Tensor, list]:
        """Mean loss per member (M,) on the batch ``x`` (M, B, in), ``y``, and its gradients."""
        value, d, keep = self.loss_and_delta(x, y, loss)
        return value, self.backward(d, keep)

    def load_into(self, models, params=None, buffers=None) -> None:
        params = self.params if params is None else params
        with torch.no_grad():
            for i, model in enumerate(models):
                for k, linear in enumerate(model.linears):
                    linear.weight.copy_(params[2 * k][i])
                    linear.bias.copy_(params[2 * k + 1][i].reshape(-1))


def default_generator(device: torch.device) -> torch.Generator:
    """The generator that dropout on ``device`` draws from (``torch.manual_seed`` seeds it)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.init()  # fills torch.cuda.default_generators (a no-op once CUDA is up)
        return torch.cuda.default_generators[device.index if device.index is not None else torch.cuda.current_device()]
    return torch.default_generator


class FuncPopulation(Population):
    """``vmap`` (or a per-member loop) over ``functional_call`` with stacked parameters.

    ``seeds`` (one per member) seed each member's stream of training randomness in ``loop``
    mode: ``torch.Generator(device).manual_seed(seed)``, the state the device's default
    generator has after ``torch.manual_seed(seed)``. (``vmap`` refuses random operations.)
    """

    def __init__(self, models: Sequence[nn.Module], device, use_vmap: bool, seeds: Sequence[int] | None = None) -> None:
        self.mode = "vmap" if use_vmap else "loop"
        self.models = list(models)
        params, buffers = stack_module_state(self.models)
        self.names = list(params)
        self.params = [params[n].detach().to(device).requires_grad_() for n in self.names]
        self.buffers = {n: b.to(device) for n, b in buffers.items()}
        self.base = copy.deepcopy(self.models[0]).to("meta")
        self.device = torch.device(device)
        self.training = True
        self._set_mode(True)
        seeds = range(len(self.models)) if seeds is None else seeds
        self.rng_states = [torch.Generator(device=self.device).manual_seed(int(s)).get_state() for s in seeds]

    def _set_mode(self, training: bool) -> None:
        self.training = training
        self.base.train(training)
        for model in self.models:
            model.train(training)

    def buffer_tensors(self) -> list[torch.Tensor]:
        return list(self.buffers.values())

    @contextlib.contextmanager
    def evaluating(self) -> Iterator[None]:
        self._set_mode(False)
        try:
            yield
        finally:
            self._set_mode(True)

    def _call(self, params: dict, buffers: dict, x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.base, (params, buffers), (x,))

    def forward(self, x: torch.Tensor, shared: bool = False) -> torch.Tensor:
        params = dict(zip(self.names, self.params))
        if self.mode == "vmap":
            return vmap(self._call, in_dims=(0, 0, None if shared else 0))(params, self.buffers, x)
        gen = default_generator(self.device)
        caller_state = gen.get_state()
        outs = []
        try:
            for i, model in enumerate(self.models):
                p_i = {n: p[i] for n, p in params.items()}
                b_i = {n: b[i] for n, b in self.buffers.items()}  # views: BatchNorm updates land in place
                if self.training:  # member i's own stream; in eval mode nothing may be drawn for anyone
                    gen.set_state(self.rng_states[i])
                outs.append(functional_call(model.to(self.device), (p_i, b_i), (x if shared else x[i],)))
                if self.training:
                    self.rng_states[i] = gen.get_state()
                else:
                    gen.set_state(caller_state)
        finally:
            gen.set_state(caller_state)
        return torch.stack(outs)

    def load_into(self, models, params=None, buffers=None) -> None:
        params = self.params if params is None else params
        buffers = self.buffer_tensors() if buffers is None else buffers
        with torch.no_grad():
            for i, model in enumerate(models):
                state = {n: p[i] for n, p in zip(self.names, params)}
                state.update({n: b[i] for n, b in zip(self.buffers, buffers)})
                model.load_state_dict(state, strict=False)


def _vmap_ok(model: nn.Module) -> bool:
    bad = (nn.RNNBase, nn.BatchNorm1d, nn.BatchNorm2d, nn.Dropout)
    return not any(isinstance(m, bad) and not (isinstance(m, nn.Dropout) and m.p == 0) for m in model.modules())


POPULATION_MODES = ("auto", "mlp", "vmap", "loop")


def make_population(models: Sequence[nn.Module], device, mode: str = "auto",
                    seeds: Sequence[int] | None = None) -> Population:
    """Run ``models`` (same shapes) as one population.

    ``mode='auto'`` picks the fastest exact way: ``mlp`` for plain MLPs (measured faster than
    ``vmap`` for the lecture MLP by ``genlab bench train``), ``vmap`` for other stateless
    modules, ``loop`` for those vmap cannot batch. Naming a mode forces it where it applies.
    ``seeds`` seed each member's dropout stream (see :class:`FuncPopulation`).
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
    return FuncPopulation(models, device, use_vmap=use_vmap, seeds=seeds)
