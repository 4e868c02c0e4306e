"""The torch path's exact-data accuracy at n = 6, the constant of tests/methods/test_nn_kernel.py.

Trains method ``nn`` with its defaults (2·10⁵ iterations, budget stop) on exact data of the wave
profile at n = 6 with ``backend torch`` (compiled) and prints the relative ℓ² error of γ. The
kernel test holds the numba backend within a factor 3 of this number, which is too expensive to
recompute in every test run (≈ 25 s compiled plus the compile).

    python benchmarks/nn_torch_reference.py
"""

from __future__ import annotations

import os

from discrete_eit import conductivity_profile, generate_dataset
from discrete_eit.methods.registry import reconstruct


def main() -> None:
    n = 6
    data = generate_dataset(conductivity_profile("wave", n), n, 0.0)
    for backend in ("torch", "numba"):
        r = reconstruct("nn", data, backend=backend, device="cpu", progress=0.0)
        print(f"backend {backend}: relative error {r.info['relative_error']:.6e}, final loss "
              f"{r.info['final_loss']:.3e}, {r.info['us_per_problem_iteration']:.1f} µs/it, "
              f"load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
