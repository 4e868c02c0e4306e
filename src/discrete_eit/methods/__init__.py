"""Reconstruction methods: the registry and one module per method.

``cm`` (Curtis–Morrow layer peeling), ``nn`` (the paper's network, Adam), ``nn_fast`` (the same
loss by variable projection + Levenberg–Marquardt), ``ols`` (weighted output least squares).
The plug-in contract is in :mod:`discrete_eit.methods.registry`.
"""

from .registry import (
    METHODS,
    Method,
    Option,
    OptionError,
    Reconstruction,
    get_method,
    load_methods,
    reconstruct,
    reconstruct_many,
    register_method,
)

__all__ = ["METHODS", "Method", "Option", "OptionError", "Reconstruction", "get_method", "load_methods",
           "reconstruct", "reconstruct_many", "register_method"]
