"""Training configuration: one frozen dataclass, validated on creation."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from genlab._checks import check_bool, check_choice, check_float, check_int, check_seed, fail

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")
SCHEDULES = ("constant", "step", "cosine", "warmup_linear", "warmup_cosine")
LOSSES = ("cross_entropy", "mse")
TRAIN_LOSS_MODES = ("full", "batch", "running")
MONITORS = ("val_loss", "val_error", "test_loss", "test_error")


@dataclass(frozen=True)
class TrainConfig:
    """How to train one model (or one member of a population).

    Attributes
    ----------
    optimizer : {'sgd', 'adam', 'adamw', 'rmsprop', 'adagrad'}
        Update rule; each matches ``torch.optim`` exactly (tested).
    lr : float
        Base learning rate (multiplied by the schedule).
    momentum, nesterov : float, bool
        SGD (and RMSprop) momentum.
    betas, eps : (float, float), float
        Adam/AdamW moment decay rates and denominator epsilon (RMSprop and Adagrad use ``eps``
        too; Adagrad's PyTorch default is 1e-10, set it if you compare).
    alpha : float
        RMSprop's smoothing constant.
    weight_decay : float
        Decoupled for AdamW, added to the gradient otherwise (as torch.optim does).
    l1, l2 : float
        Penalties ``l1 * sum|w| + l2 * sum w^2`` over all parameters, added to the loss.
    sam_rho : float
        Sharpness-aware minimization radius; 0 disables SAM. With SAM the gradient is taken at
        ``w + rho * g / (||g|| + 1e-12)`` and applied by the base optimizer at ``w`` (the weights
        are restored exactly, BatchNorm statistics come from the first forward only).
    schedule : {'constant', 'step', 'cosine', 'warmup_linear', 'warmup_cosine'}
        ``step`` multiplies the rate by ``gamma`` every ``step_every`` steps (e.g. halve every 10
        epochs: 10 * n_train / batch_size steps); ``cosine`` anneals to 0 over ``n_steps``;
        ``warmup_*`` rises linearly over ``warmup_steps`` then decays linearly or by cosine.
    batch_size : int or None
        Minibatch size; ``None`` means full batch.
    shuffle : bool
        Reshuffle every epoch (as ``DataLoader(shuffle=True)`` with a generator seeded by
        ``seed``) or keep the data order.
    n_steps : int
        Optimizer steps.
    eval_every : int
        Evaluate on every split every this many steps (and at steps 0 and ``n_steps``).
    train_loss : {'full', 'batch', 'running'}
        How the reported training loss is averaged: the whole training set, the current
        minibatch, or the running mean over the last ``running_window`` minibatches.
    loss : {'cross_entropy', 'mse'}
    patience : int or None
        Early stopping: stop a member after this many evaluations without improving
        ``monitor``; ``None`` trains all ``n_steps``.
    restore_best : bool
        Return the weights at the best ``monitor`` value instead of the last ones.
    monitor : {'val_loss', 'val_error', 'test_loss', 'test_error'}
    stop_loss : float or None
        Train to a target loss: stop a member at the first evaluation whose reported training
        loss is below this (its ``stopped_step``); ``None`` trains all ``n_steps``. With
        ``train_loss='full'`` every member stops at the same training loss whatever its batch
        size (a fair comparison of minima, Keskar et al. 2017).
    seed : int
        Seed of the batch order and of the dropout masks, as a plain loop that calls
        ``torch.manual_seed(seed)`` and gives its DataLoader ``Generator().manual_seed(seed)``
        (the model's own seed sets its initialization).
    """

    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.0
    nesterov: bool = False
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    alpha: float = 0.99
    weight_decay: float = 0.0
    l1: float = 0.0
    l2: float = 0.0
    sam_rho: float = 0.0
    schedule: str = "constant"
    step_every: int = 1000
    gamma: float = 0.5
    warmup_steps: int = 0
    batch_size: int | None = 100
    shuffle: bool = True
    n_steps: int = 1000
    eval_every: int = 100
    train_loss: str = "full"
    running_window: int = 10
    loss: str = "cross_entropy"
    patience: int | None = None
    restore_best: bool = False
    monitor: str = "val_loss"
    stop_loss: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        owner = "TrainConfig"
        check_choice(self.optimizer, "optimizer", owner, OPTIMIZERS)
        check_float(self.lr, "lr", owner, low=0.0)
        check_float(self.momentum, "momentum", owner, low=0.0, high=1.0)
        for name in ("nesterov", "shuffle", "restore_best"):
            check_bool(getattr(self, name), name, owner)
        if self.nesterov and (self.optimizer != "sgd" or self.momentum <= 0):
            raise fail("nesterov", owner, "True only with optimizer='sgd' and momentum > 0", self.nesterov)
        if not (isinstance(self.betas, (tuple, list)) and len(self.betas) == 2):
            raise fail("betas", owner, "a pair of floats in [0, 1)", self.betas)
        for b in self.betas:
            check_float(b, "betas", owner, low=0.0, high=1.0, high_open=True)
        check_float(self.eps, "eps", owner, low=0.0)
        check_float(self.alpha, "alpha", owner, low=0.0, high=1.0)
        for name in ("weight_decay", "l1", "l2", "sam_rho"):
            check_float(getattr(self, name), name, owner, low=0.0)
        check_choice(self.schedule, "schedule", owner, SCHEDULES)
        check_int(self.step_every, "step_every", owner, low=1)
        check_float(self.gamma, "gamma", owner, low=0.0)
        check_int(self.warmup_steps, "warmup_steps", owner, low=0)
        if self.batch_size is not None:
            check_int(self.batch_size, "batch_size", owner, low=1)
        check_int(self.n_steps, "n_steps", owner, low=1)
        if self.schedule.startswith("warmup") and self.warmup_steps >= self.n_steps:
            # the warm-up would fill every step and the decay never start
            raise fail("warmup_steps", owner, f"an int in the range [0, n_steps - 1 = {self.n_steps - 1}] "
                       f"with schedule={self.schedule!r}", self.warmup_steps)
        check_int(self.eval_every, "eval_every", owner, low=1)
        check_choice(self.train_loss, "train_loss", owner, TRAIN_LOSS_MODES)
        check_int(self.running_window, "running_window", owner, low=1)
        check_choice(self.loss, "loss", owner, LOSSES)
        if self.patience is not None:
            check_int(self.patience, "patience", owner, low=1)
        check_choice(self.monitor, "monitor", owner, MONITORS)
        if self.stop_loss is not None:
            check_float(self.stop_loss, "stop_loss", owner, low=0.0, low_open=True)
        check_seed(self.seed, "seed", owner)

    def replace(self, **changes) -> TrainConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
