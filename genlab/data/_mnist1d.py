"""MNIST-1D, generated locally and identical to the reference ``mnist1d`` package.

The reference (greydanus/mnist1d, ``mnist1d.data.make_dataset``) loops over samples, calls
``scipy.interpolate.interp1d`` four times per sample and draws from NumPy's *global* legacy
``RandomState``. Here only the random draws run in a loop, on a private ``RandomState`` in the same
order, chunk by chunk; each chunk's transformation runs vectorized (a padded, dilated template
is computed once per class and pad) in a worker thread while the next chunk is drawn, with
the same floating-point operations, so the output equals the reference bit for bit on every
argument set tested (the tests allow 1e-10).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import gaussian_filter1d

from genlab._checks import check_bool, check_float, check_int, check_seed, fail, fail_type
from genlab.data._base import ClassificationData

_RAW_TEMPLATES = np.array(
    [
        [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5],
        [5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5],
        [5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5],
        [5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5],
        [5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5],
        [5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5],
        [5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5],
        [5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5],
        [5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5],
        [5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5],
    ]
)

_EPS = 1e-8  # added to templates so that their own zeros are not taken for padding


def mnist1d_templates() -> dict[str, np.ndarray]:
    """The ten 12-point digit templates, normalised as the reference does.

    Returns ``{'x': (10, 12), 't': (12,), 'y': (10,)}``: each row whitened, shifted to start
    (and end) at 0 and divided by 6; ``t`` is ``linspace(-5, 5, 12) / 6``.
    """
    x = _RAW_TEMPLATES.copy()
    x -= x.mean(1, keepdims=True)
    x /= x.std(1, keepdims=True)
    x -= x[:, :1]
    return {"x": x / 6.0, "t": np.linspace(-5, 5, 12) / 6.0, "y": np.arange(10)}


def _interp_tables(n_old: int, n_new: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Index and step tables of ``interp1d(linspace(0,1,n_old), ., kind='linear')(linspace(0,1,n_new))``.

    Returns ``(lo, hi, dx, offset)`` so that ``y_new = (y[hi] - y[lo]) / dx * offset + y[lo]``
    repeats the reference's arithmetic exactly. For 1-D float signals SciPy's ``interp1d``
    delegates to ``np.interp``: segment ``j`` with ``x[j] <= x_new < x[j+1]`` (so a point on the
    grid gets its value exactly) and ``y[-1]`` itself at the right end; that matters where a
    single padding zero must stay an exact zero (``padding[0] <= 1``).
    """
    x = np.linspace(0, 1, n_old)
    x_new = np.linspace(0, 1, n_new)
    lo = (np.searchsorted(x, x_new, side="right") - 1).clip(0, n_old - 2)
    hi = lo + 1
    dx, offset = x[hi] - x[lo], x_new - x[lo]
    right = x_new >= x[-1]
    lo[right], hi[right], dx[right], offset[right] = n_old - 1, n_old - 1, 1.0, 0.0
    return lo, hi, dx, offset


def _interp_rows(y: np.ndarray, tables) -> np.ndarray:
    """Linear interpolation of each row of ``y`` (..., n_old) with precomputed tables."""
    lo, hi, dx, offset = tables
    y_lo = y[..., lo]
    return (y[..., hi] - y_lo) / dx * offset + y_lo


_CHUNK = 4096  # samples drawn (main thread) and transformed (worker thread) at a time


class _Draws:
    """The reference's random draws, in its order, from a private legacy ``RandomState``.

    Per sample the reference calls ``rand()`` (pad), ``rand()`` (scale), ``choice(max_translation)``,
    ``randn(L)`` twice (correlated, iid noise) and ``rand()`` (shear). Here the shear of one sample
    and the pad and scale of the next come from one ``rand(3)`` (the same doubles), the two
    ``randn(L)`` from one ``randn(2L)`` (L even or odd, the cached second normal is consumed the
    same way), and ``choice`` is replayed on the raw 32-bit words as NumPy's legacy bounded
    integers draw it: masked rejection, ``w & mask`` until it is ``<= max_translation - 1``.
    """

    def __init__(self, rs: np.random.RandomState, bits: np.random.MT19937, n: int, dilated_len: int,
                 max_translation: int) -> None:
        self.rs, self.raw, self.n, self.width = rs, bits.random_raw, n, 2 * dilated_len
        self.rng = max_translation - 1  # randint(0, max_translation) draws nothing when this is 0
        self.mask = (1 << self.rng.bit_length()) - 1
        self.pending = rs.random_sample(2)  # pad and scale of sample 0

    def chunk(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Draws of samples ``lo .. hi-1``: uniforms (m, 3) (pad, scale, shear), shifts (m,), normals (m, 2L)."""
        m = hi - lo
        raw, randn, rand, rng, mask = self.raw, self.rs.standard_normal, self.rs.random_sample, self.rng, self.mask
        shifts = [0] * m
        tails = [self.pending]
        normals = np.empty((m, self.width))
        last = self.n - 1 - lo
        for j in range(m):
            if rng:
                w = raw() & mask
                while w > rng:
                    w = raw() & mask
                shifts[j] = w
            normals[j] = randn(self.width)
            tails.append(rand(3 if j < last else 1))  # shear of j, then pad and scale of j + 1
        uniforms = np.concatenate(tails)
        self.pending = uniforms[3 * m :]
        return uniforms[: 3 * m].reshape(m, 3), np.asarray(shifts, dtype=np.int64), normals


@dataclass(frozen=True)
class _Geometry:
    """The reference's deterministic transformation of one chunk of samples, vectorized."""

    base: np.ndarray  # (C, T) templates
    low: int
    high: int
    dilated_len: int
    scale_coeff: float
    corr_noise_scale: float
    iid_noise_scale: float
    shear_scale: float
    final_seq_length: int

    def transform(self, classes: np.ndarray, uniforms: np.ndarray, shifts: np.ndarray,
                  normals: np.ndarray) -> np.ndarray:
        """Signals (m, final_seq_length) of samples with ``classes`` (m,) and their draws."""
        n_len, (n_cls, t_len) = self.dilated_len, self.base.shape
        pads = self.low + (uniforms[:, 0] * (self.high - self.low + 1)).astype(int)
        # A padded, dilated template depends on (class, pad) only: dilate each pair present
        # once, twice over so that a circular shift is one window of it.
        codes, inverse = np.unique(pads * n_cls + classes, return_inverse=True)
        table = np.empty((codes.size, 2 * n_len))
        for p in np.unique(codes // n_cls):
            rows = np.flatnonzero(codes // n_cls == p)
            padded = np.zeros((rows.size, t_len + p))
            padded[:, :t_len] = self.base[codes[rows] % n_cls] + _EPS
            table[rows, :n_len] = _interp_rows(padded, _interp_tables(t_len + p, n_len))
        table[:, n_len:] = table[:, :n_len]
        # Shift by k: concat(x[-k:], x[:-k]) in the reference, np.roll for 0 < k < L, and no
        # shift at all for k >= L (x[-k:] is then the whole signal): window L - k of the table.
        start = n_len - np.where(shifts < n_len, shifts, 0)
        x = sliding_window_view(table, n_len, axis=1)[inverse.reshape(-1), start]  # (m, L)
        x *= (1 + self.scale_coeff * (uniforms[:, 1] - 0.5))[:, None]
        mask = x != 0  # exact zeros are padding; there the smoothed noise replaces the signal
        smooth = gaussian_filter1d(self.corr_noise_scale * normals[:, :n_len], 2, axis=1)
        x = np.where(mask, x, smooth)  # == mask * x + (1 - mask) * smooth, as the reference writes it
        x += self.iid_noise_scale * normals[:, n_len:]
        x -= (self.shear_scale * (uniforms[:, 2] - 0.5))[:, None] * np.linspace(-0.5, 0.5, n_len)
        return _interp_rows(x, _interp_tables(n_len, self.final_seq_length))


@dataclass(frozen=True)
class MNIST1D(ClassificationData):
    """An MNIST-1D dataset: 1-D signals of length ``final_seq_length`` in 10 classes.

    ``x_train`` (4000, 40) and ``x_test`` (1000, 40) float64 by default, normalised by one global
    mean and std over train and test together; ``y_*`` int64 digit labels. Besides the fields
    of :class:`ClassificationData`: ``t`` (L,), the vertical coordinate for plotting (a signal
    is drawn as value against ``t``), ``templates`` ``{'x', 't', 'y'}`` and ``args``, the
    generator arguments as the reference names them.
    """

    t: np.ndarray | None = None
    templates: dict | None = field(default=None, repr=False)
    args: dict = field(default_factory=dict)

    def as_mnist1d_dict(self) -> dict[str, Any]:
        """The dict the reference ``mnist1d.data.make_dataset`` returns."""
        return {
            "x": self.x_train,
            "y": self.y_train,
            "x_test": self.x_test,
            "y_test": self.y_test,
            "t": self.t,
            "templates": self.templates,
        }


def _check_templates(templates, owner: str) -> dict:
    """Custom templates as ``{'x': (C, T) floats, 't': (T,), 'y': (C,) ints}``, C >= 1, T >= 2."""
    allowed = "a dict {'x': (C, T) array, 't': (T,) array, 'y': (C,) int array} with C >= 1, T >= 2"
    if not isinstance(templates, dict):
        raise fail_type("templates", owner, allowed, templates)
    missing = [k for k in ("x", "t", "y") if k not in templates]
    if missing:
        raise fail("templates", owner, allowed, templates, got=f"a dict without {missing}")
    try:
        x, t, y = (np.asarray(templates[k], dtype=float) for k in ("x", "t", "y"))
    except (TypeError, ValueError):
        raise fail("templates", owner, allowed + " of numbers", templates, got="non-numeric entries") from None
    shapes = f"x {x.shape}, t {t.shape}, y {y.shape}"
    if (x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 2 or t.shape != x.shape[1:] or y.shape != x.shape[:1]
            or not np.isfinite(x).all() or not np.isfinite(t).all() or not np.all(y == np.round(y))):
        raise fail("templates", owner, allowed + ", finite", templates, got=f"shapes {shapes}")
    return templates


def make_mnist1d(
    n_samples: int = 5000,
    *,
    train_split: float = 0.8,
    template_len: int = 12,
    padding: tuple[int, int] = (36, 60),
    scale_coeff: float = 0.4,
    max_translation: int = 48,
    corr_noise_scale: float = 0.25,
    iid_noise_scale: float = 0.02,
    shear_scale: float = 0.75,
    shuffle_seq: bool = False,
    final_seq_length: int = 40,
    seed: int = 42,
    num_samples: int | None = None,
    templates: dict | None = None,
) -> MNIST1D:
    """Generate MNIST-1D exactly as ``mnist1d.data.make_dataset`` does, without global state.

    Parameters
    ----------
    n_samples : int, default 5000
        Total samples, train and test together; ``n_samples // 10`` per class (the reference
        silently drops the remainder, and so does this). ``num_samples`` is an alias.
    train_split : float in (0, 1), default 0.8
        Fraction of the shuffled samples used for training: ``int(N * train_split)`` rows.
    template_len : int, default 12
        Length of the templates (the reference uses it only to size the dilated signal).
    padding : (int, int), default (36, 60)
        Zeros appended to a template: ``padding[0] + int(u * (padding[1] - padding[0] + 1))``.
    scale_coeff : float, default 0.4
        Amplitude factor ``1 + scale_coeff * (u - 0.5)``.
    max_translation : int, default 48
        Circular shift drawn from ``{0, ..., max_translation - 1}``.
    corr_noise_scale, iid_noise_scale : float, default 0.25, 0.02
        Standard deviation of the smoothed (Gaussian filter, sigma 2) background noise and of
        the white noise added everywhere.
    shear_scale : float, default 0.75
        Linear trend ``c * linspace(-0.5, 0.5)`` with ``c = shear_scale * (u - 0.5)``.
    shuffle_seq : bool, default False
        Permute the positions of every signal with one fixed permutation ("MNIST-1D shuffled").
    final_seq_length : int, default 40
        Length of the output signals.
    seed : int, default 42
        Seed of the private legacy ``RandomState`` (NumPy's global state is never touched).
    templates : dict, optional
        Custom templates ``{'x': (C, 12), 't': (12,), 'y': (C,)}``; default the ten digits.

    Returns
    -------
    MNIST1D
        A frozen dataset; ``as_mnist1d_dict()`` gives the reference's dict.
    """
    owner = "make_mnist1d"
    if num_samples is not None:
        # The alias wins over the default; two different explicit counts are an error (an
        # explicit n_samples=5000 cannot be told from the default and yields to the alias).
        if n_samples not in (5000, num_samples):
            raise fail("num_samples", owner, f"omitted or equal to n_samples={n_samples!r} (it is an alias)", num_samples)
        n_samples = num_samples
    templates = mnist1d_templates() if templates is None else _check_templates(templates, owner)
    n_classes = len(templates["y"])
    n_samples = check_int(n_samples, "n_samples", owner, low=n_classes)
    train_split = check_float(train_split, "train_split", owner, low=0.0, high=1.0, low_open=True, high_open=True)
    template_len = check_int(template_len, "template_len", owner, low=1)
    if (
        not isinstance(padding, (tuple, list))
        or len(padding) != 2
        or not all(isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in padding)
        or not 0 <= padding[0] <= padding[1]
    ):
        raise fail("padding", owner, "a pair of ints (low, high) with 0 <= low <= high", padding)
    scale_coeff = check_float(scale_coeff, "scale_coeff", owner, low=0.0)
    max_translation = check_int(max_translation, "max_translation", owner, low=1)
    corr_noise_scale = check_float(corr_noise_scale, "corr_noise_scale", owner, low=0.0)
    iid_noise_scale = check_float(iid_noise_scale, "iid_noise_scale", owner, low=0.0)
    shear_scale = check_float(shear_scale, "shear_scale", owner, low=0.0)
    final_seq_length = check_int(final_seq_length, "final_seq_length", owner, low=2)
    shuffle_seq = check_bool(shuffle_seq, "shuffle_seq", owner)
    seed = check_seed(seed, "seed", owner)

    low, high = int(padding[0]), int(padding[1])
    dilated_len = template_len + high  # the reference dilates every padded template to this length
    per_class = n_samples // n_classes
    n = per_class * n_classes
    labels = np.repeat(np.asarray(templates["y"]), per_class)  # class-major, as the reference loops
    base = np.asarray(templates["x"], dtype=float)  # (C, T)
    t_len = base.shape[1]
    geometry = _Geometry(base, low, high, dilated_len, scale_coeff, corr_noise_scale, iid_noise_scale,
                         shear_scale, final_seq_length)

    # The random draws run in the reference's order on a private RandomState, chunk by chunk;
    # each finished chunk is transformed (vectorized) in a worker thread while the next is drawn.
    # A legacy RandomState seeded as np.random.seed(seed) seeds it, sharing its bit generator
    # so that raw 32-bit words can be drawn from the same stream.
    bits = np.random.MT19937()
    bits.state = {"bit_generator": "MT19937", "state": np.random.RandomState(seed).get_state(legacy=False)["state"]}
    rs = np.random.RandomState(bits)
    x = np.empty((n, final_seq_length))
    chunks = [(lo, min(n, lo + _CHUNK)) for lo in range(0, n, _CHUNK)]
    draws = _Draws(rs, bits, n, dilated_len, max_translation)
    if len(chunks) == 1:
        x[:] = geometry.transform(np.arange(n) // per_class, *draws.chunk(0, n))
    else:
        with ThreadPoolExecutor(max_workers=1) as pool:
            futures = [(lo, hi, pool.submit(geometry.transform, np.arange(lo, hi) // per_class, *draws.chunk(lo, hi)))
                       for lo, hi in chunks]
            for lo, hi, future in futures:
                x[lo:hi] = future.result()
    batch_perm = rs.permutation(n)
    seq_perm = rs.permutation(final_seq_length) if shuffle_seq else None
    t = _interp_rows(
        _interp_rows(np.asarray(templates["t"], dtype=float), _interp_tables(t_len, dilated_len)),
        _interp_tables(dilated_len, final_seq_length),
    )

    x = x[batch_perm]
    y = labels[batch_perm].astype(np.int64)
    if seq_perm is not None:
        x = x[..., seq_perm]
    t = t / x.std()
    x = (x - x.mean()) / x.std()
    split = int(len(y) * train_split)
    args = {
        "num_samples": n_samples,
        "train_split": train_split,
        "template_len": template_len,
        "padding": [low, high],
        "scale_coeff": scale_coeff,
        "max_translation": max_translation,
        "corr_noise_scale": corr_noise_scale,
        "iid_noise_scale": iid_noise_scale,
        "shear_scale": shear_scale,
        "shuffle_seq": bool(shuffle_seq),
        "final_seq_length": final_seq_length,
        "seed": seed,
    }
    for arr in (x, y, t):
        arr.setflags(write=False)
    return MNIST1D(
        x_train=x[:split],
        y_train=y[:split],
        x_test=x[split:],
        y_test=y[split:],
        t=t,
        templates=templates,
        args=args,
        n_classes=n_classes,
        name="mnist1d-shuffled" if shuffle_seq else "mnist1d",
        meta={"generator": "make_mnist1d", **args},
    )
