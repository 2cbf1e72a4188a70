"""The lectures' neural models as plain ``nn.Module`` s with seeded initialization.

- :class:`MLP`: fully connected, any width/depth/activation, optional residual connections,
  LayerNorm, BatchNorm or weight normalization, dropout. ``lecture_mlp()`` is 40-100-100-10 (15,210 parameters).
- :class:`LogisticRegression`: one linear layer (an MLP of depth 0).
- :class:`MNIST1DCNN`, :class:`MNIST1DGRU`: the benchmark models of the MNIST-1D paper
  (greydanus/mnist1d notebooks/models.py, 5,210 and 5,134 parameters).
- :class:`RNNRegressor`: a plain tanh RNN with a linear read-out, for time series.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from genlab._checks import check_bool, check_choice, check_float, check_int, check_seed, fail
from genlab.models._init import INITS, init_module, materialize

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
}
NORMS = (None, "layer", "batch", "weight")


def n_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class MLP(nn.Module):
    """A fully connected network: ``depth`` hidden layers of ``width`` units.

    Parameters
    ----------
    in_features, out_features : int
        Input and output sizes (40 and 10 for MNIST-1D).
    width : int
        Hidden units per layer.
    depth : int, default 2
        Number of hidden layers (0 gives logistic regression).
    activation : {'relu', 'leaky_relu', 'elu', 'gelu', 'sigmoid', 'tanh'}
    residual : bool
        Add each hidden layer's output to its input where the sizes agree
        (``h = h + act(W h + b)``; the MNIST-1D benchmark MLP uses this).
    norm : {None, 'layer', 'batch', 'weight'}
        Normalization of each hidden layer: ``'layer'`` and ``'batch'`` normalize the output of
        the linear layer, before the activation; ``'weight'`` reparametrizes its weight as
        ``w = g v / ||v||`` with one ``g`` per unit (Salimans & Kingma 2016, through
        ``torch.nn.utils.parametrizations.weight_norm``), equal to the plain network at
        initialization; :meth:`init_from_data` gives the paper's data-based initialization.
    dropout : float in [0, 1)
        Dropout after each hidden activation.
    init : {'default', 'he_normal', 'he_uniform', 'xavier', 'he_scaled'}
        Initialization; ``init_scale`` multiplies every weight.
    seed : int
        Seed of the initialization (the global RNG is not used).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        width: int = 100,
        depth: int = 2,
        activation: str = "relu",
        residual: bool = False,
        norm: str | None = None,
        dropout: float = 0.0,
        init: str = "default",
        init_scale: float = 1.0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.in_features = check_int(in_features, "in_features", owner, low=1)
        self.out_features = check_int(out_features, "out_features", owner, low=1)
        self.width = check_int(width, "width", owner, low=1)
        self.depth = check_int(depth, "depth", owner, low=0)
        self.activation = check_choice(activation, "activation", owner, ACTIVATIONS)
        self.residual = check_bool(residual, "residual", owner)
        self.norm = check_choice(norm, "norm", owner, NORMS)
        self.dropout = check_float(dropout, "dropout", owner, low=0.0, high=1.0, high_open=True)
        check_choice(init, "init", owner, INITS)
        self.seed = check_seed(seed, "seed", owner)
        sizes = [self.in_features] + [self.width] * self.depth + [self.out_features]
        with torch.device("meta"):
            self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
            norm_cls = {"layer": nn.LayerNorm, "batch": nn.BatchNorm1d}.get(self.norm)
            self.norms = nn.ModuleList(norm_cls(self.width) for _ in range(self.depth)) if norm_cls else nn.ModuleList()
        self.act = ACTIVATIONS[self.activation]()
        self.drop = nn.Dropout(self.dropout) if self.dropout > 0 else nn.Identity()
        materialize(self)
        init_module(self, init=init, init_scale=init_scale, seed=self.seed)
        self.init, self.init_scale = init, init_scale
        if self.norm == "weight":  # g = ||v|| per unit: the same function as the plain initialization
            for linear in self.linears[:-1]:
                nn.utils.parametrizations.weight_norm(linear)

    @torch.no_grad()
    def init_from_data(self, x) -> MLP:
        """Data-based initialization of a weight-normalized MLP (Salimans & Kingma 2016, sec. 3).

        Layer by layer from the input, each hidden unit's ``g`` and bias are set so that its
        pre-activation has mean 0 and standard deviation 1 over the samples ``x`` ``(n, in)``;
        the directions ``v`` keep their initialization. Returns the model.
        """
        if self.norm != "weight":
            raise fail("norm", type(self).__name__, "'weight' to use init_from_data", self.norm)
        h = x.detach() if isinstance(x, torch.Tensor) else torch.from_numpy(np.array(x))  # a copy: x may be read-only
        h = h.to(self.linears[0].bias.dtype)
        h = h.flatten(1) if h.dim() > 2 else h  # (n, in_features)
        if h.shape[0] < 2 or h.shape[1] != self.in_features:
            raise fail("x", "MLP.init_from_data", f"an array of shape (n >= 2, {self.in_features})", tuple(h.shape))
        for linear in self.linears[:-1]:
            z = linear(h)  # (n, width)
            mean, std = z.mean(0), z.std(0).clamp_min(1e-12)
            linear.parametrizations.weight.original0.div_(std[:, None])  # g: (width, 1)
            linear.bias.sub_(mean).div_(std)
            a = self.act(linear(h))
            h = h + a if self.residual and h.shape == a.shape else a
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.flatten(1) if x.dim() > 2 else x  # (B, in_features)
        for k, linear in enumerate(self.linears[:-1]):
            z = linear(h)
            if self.norms:
                z = self.norms[k](z)
            a = self.drop(self.act(z))
            h = h + a if self.residual and h.shape == a.shape else a
        return self.linears[-1](h)

    def config(self) -> dict:
        """Constructor arguments, enough to rebuild the model."""
        return {
            "in_features": self.in_features, "out_features": self.out_features, "width": self.width,
            "depth": self.depth, "activation": self.activation, "residual": self.residual,
            "norm": self.norm, "dropout": self.dropout, "init": self.init,
            "init_scale": self.init_scale, "seed": self.seed,
        }


class LogisticRegression(MLP):
    """Multinomial logistic regression: one linear layer (410 parameters on MNIST-1D)."""

    def __init__(self, in_features: int = 40, out_features: int = 10, *, init: str = "default", seed: int = 0) -> None:
        super().__init__(in_features, out_features, width=1, depth=0, init=init, seed=seed)


def lecture_mlp(*, seed: int = 0, residual: bool = False, init: str = "default") -> MLP:
    """The lecture MLP 40-100-100-10 with ReLU (15,210 parameters).

    ``residual=True`` gives the MNIST-1D benchmark's MLPBase (``h2 = h1 + relu(W h1)``).
    """
    return MLP(40, 10, width=100, depth=2, residual=residual, init=init, seed=seed)


class MNIST1DCNN(nn.Module):
    """The MNIST-1D benchmark CNN (ConvBase): 3 strided Conv1d layers of ``channels`` + linear.

    Conv1d(1, c, 5, stride 2, pad 1) ReLU, Conv1d(c, c, 3, 2, 1) ReLU, Conv1d(c, c, 3, 2, 1) ReLU,
    flatten (c x 5), Linear(5c, 10): lengths 40 -> 19 -> 10 -> 5; 5,210 parameters for c = 25.
    """

    def __init__(self, channels: int = 25, out_features: int = 10, *, in_length: int = 40, seed: int = 0) -> None:
        super().__init__()
        owner = "MNIST1DCNN"
        self.channels = check_int(channels, "channels", owner, low=1)
        self.seed = check_seed(seed, "seed", owner)
        self.out_features = check_int(out_features, "out_features", owner, low=1)
        self.in_length = check_int(in_length, "in_length", owner, low=3)  # 3 -> 1 -> 1 -> 1: shorter leaves nothing to convolve
        c = self.channels
        length = in_length
        for k, s, p in ((5, 2, 1), (3, 2, 1), (3, 2, 1)):
            length = (length + 2 * p - k) // s + 1
        with torch.device("meta"):
            self.conv1 = nn.Conv1d(1, c, 5, stride=2, padding=1)
            self.conv2 = nn.Conv1d(c, c, 3, stride=2, padding=1)
            self.conv3 = nn.Conv1d(c, c, 3, stride=2, padding=1)
            self.linear = nn.Linear(c * length, out_features)
        materialize(self)
        init_module(self, seed=self.seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.unsqueeze(1) if x.dim() == 2 else x  # (B, 1, L)
        h = torch.relu(self.conv1(h))
        h = torch.relu(self.conv2(h))
        h = torch.relu(self.conv3(h))
        return self.linear(h.flatten(1))

    def config(self) -> dict:
        return {"channels": self.channels, "out_features": self.out_features, "in_length": self.in_length, "seed": self.seed}


class MNIST1DGRU(nn.Module):
    """The MNIST-1D benchmark GRU (GRUBase): bidirectional GRU(1 -> 6), all 40 outputs -> Linear.

    5,134 parameters with ``hidden_size=6`` and 40 time steps.
    """

    def __init__(self, hidden_size: int = 6, out_features: int = 10, *, time_steps: int = 40, seed: int = 0) -> None:
        super().__init__()
        owner = "MNIST1DGRU"
        self.hidden_size = check_int(hidden_size, "hidden_size", owner, low=1)
        self.seed = check_seed(seed, "seed", owner)
        self.out_features = check_int(out_features, "out_features", owner, low=1)
        self.time_steps = check_int(time_steps, "time_steps", owner, low=1)
        with torch.device("meta"):
            self.gru = nn.GRU(1, self.hidden_size, batch_first=True, bidirectional=True)
            self.linear = nn.Linear(2 * self.hidden_size * time_steps, out_features)
        materialize(self)
        init_module(self, seed=self.seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.gru(x.unsqueeze(-1))  # (B, T, 2H), initial state zero
        return self.linear(h.flatten(1))

    def config(self) -> dict:
        return {"hidden_size": self.hidden_size, "out_features": self.out_features, "time_steps": self.time_steps, "seed": self.seed}


class RNNRegressor(nn.Module):
    """A plain (tanh) RNN over a window of a series, with a linear read-out of the last state.

    Input ``(B, T)`` (or ``(B, T, 1)``); output ``(B, 1)``: the next value of the series.
    """

    def __init__(self, hidden_size: int = 16, *, seed: int = 0) -> None:
        super().__init__()
        self.hidden_size = check_int(hidden_size, "hidden_size", "RNNRegressor", low=1)
        self.seed = check_seed(seed, "seed", "RNNRegressor")
        with torch.device("meta"):
            self.rnn = nn.RNN(1, self.hidden_size, batch_first=True)
            self.readout = nn.Linear(self.hidden_size, 1)
        materialize(self)
        init_module(self, seed=self.seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(x.unsqueeze(-1) if x.dim() == 2 else x)
        return self.readout(h[:, -1])

    def config(self) -> dict:
        return {"hidden_size": self.hidden_size, "seed": self.seed}
