"""Measurements of generalization and training for any PyTorch model.

Every measurement takes a model (or an :class:`Objective`) and data, takes a seed, never changes
the caller's model and returns a small frozen dataclass that says what it spent.
"""

from genlab.measure._bias_variance import (
    BiasVariance,
    BiasVariance01,
    ReplicaBiasVariance,
    bias_variance,
    bias_variance_01,
    bias_variance_replicas,
)
from genlab.measure._core import Objective, untouched
from genlab.measure._curves import CASES, CurveDiagnosis, diagnose_curves
from genlab.measure._health import (
    Check,
    HealthReport,
    LayerStat,
    LRRange,
    health_check,
    layer_stats,
    lr_range_test,
)
from genlab.measure._hessian import (
    HessianEigenvalues,
    HessianTrace,
    SpectralDensity,
    hessian_eigenvalues,
    hessian_spectral_density,
    hessian_trace,
    lanczos,
    power_iteration_eigenvalues,
)
from genlab.measure._landscape import (
    Interpolation,
    Landscape,
    interpolate,
    loss_landscape,
    random_directions,
)
from genlab.measure._norms import (
    LayerNorms,
    LayerSpectrum,
    NormMeasures,
    PowerLawFit,
    fit_power_law,
    layer_spectra,
    norm_measures,
    path_norm,
)
from genlab.measure._propagation import (
    LayerSignal,
    MeanField,
    activation_curves,
    activation_stats,
    gradient_stats,
    mean_field_profile,
)
from genlab.measure._representation import (
    GradientNoiseScale,
    LinearRegions,
    MutualInformation,
    count_linear_regions,
    gradient_noise_scale,
    information_plane,
    mutual_information,
)
from genlab.measure._sharpness import (
    Flatness,
    Sharpness,
    first_order_sharpness,
    pac_bayes_flatness,
    worst_case_sharpness,
)

__all__ = [
    "Objective",
    "untouched",
    "bias_variance",
    "bias_variance_01",
    "bias_variance_replicas",
    "BiasVariance",
    "BiasVariance01",
    "ReplicaBiasVariance",
    "hessian_eigenvalues",
    "hessian_trace",
    "hessian_spectral_density",
    "power_iteration_eigenvalues",
    "lanczos",
    "HessianEigenvalues",
    "HessianTrace",
    "SpectralDensity",
    "worst_case_sharpness",
    "first_order_sharpness",
    "pac_bayes_flatness",
    "Sharpness",
    "Flatness",
    "loss_landscape",
    "interpolate",
    "random_directions",
    "Landscape",
    "Interpolation",
    "norm_measures",
    "path_norm",
    "layer_spectra",
    "fit_power_law",
    "NormMeasures",
    "LayerNorms",
    "LayerSpectrum",
    "PowerLawFit",
    "mutual_information",
    "information_plane",
    "count_linear_regions",
    "gradient_noise_scale",
    "MutualInformation",
    "LinearRegions",
    "GradientNoiseScale",
    "diagnose_curves",
    "CurveDiagnosis",
    "CASES",
    "health_check",
    "layer_stats",
    "lr_range_test",
    "HealthReport",
    "Check",
    "LayerStat",
    "LRRange",
    "activation_stats",
    "gradient_stats",
    "activation_curves",
    "mean_field_profile",
    "LayerSignal",
    "MeanField",
]
