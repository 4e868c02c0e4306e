"""Method ``nn``: the paper's interpretable network trained by Adam (MATH.md §4).

* :mod:`.method` — the registered method (options, fixed edges; no torch at import time);
* :mod:`.layout` — the problem's data on the (n+2)×(n+2) point grid (numpy);
* :mod:`.model` — the reference network, a plain ``torch.nn.Module`` with autograd;
* :mod:`.loss` — the stencil loss with its hand-written gradient;
* :mod:`.schedule` — Adam's step and the plateau schedule, the named training state;
* :mod:`.trainer` — the batched training loop (compile, progress, results).
"""

from .method import nn_method

__all__ = ["nn_method"]
