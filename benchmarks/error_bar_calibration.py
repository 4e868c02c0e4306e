"""Calibration of the error bars at the estimate (``reconstruct(..., error_bars=True)``, docs/real_data.md).

For each method, noise level δ and profile (n = 6, full data, relative noise, noise seeds 0..S−1)
the reconstruction γ̂ gets ``gamma_std`` — the linearised std of MATH.md §7 taken at γ̂ for the
dataset's δ — and each (edge, seed) pair gives ``z = (γ̂_e − γ_e) / gamma_std_e``. Calibrated bars
have coverage 68 % within 1σ, 95 % within 2σ and RMS z = 1. Also: RMS z with δ estimated from the
data (``delta="auto"``; the bars scale with δ, so ``z·δ/δ̂``) and with the bars linearised at the
truth (the sensitivity prediction), which separates the effect of the linearisation point from the
method's own bias/regularisation. CM's γ̂ is often not positive at δ ≥ 1e-3: no bars exist there
(``refused`` counts them; the coverage is over the seeds that have bars).

Writes ``benchmarks/results/error_bar_calibration.csv`` (one row per method, profile, δ) and ``.md``.
Run: ``python benchmarks/error_bar_calibration.py [--seeds 10] [--methods cm ols nn_fast]``
(n = 6: about a minute on one core without ``nn``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from discrete_eit import (
    Lattice,
    conductivity_profile,
    dtn_jacobian,
    dtn_matrix,
    generate_dataset,
    predicted_std,
    reconstruct,
)
from discrete_eit.experiment.tables import to_markdown
from discrete_eit.problem.noise_estimate import estimate_dataset_noise

OUT = Path(__file__).parent / "results" / "error_bar_calibration"
NN_OPTIONS = {"iterations": 20_000, "stop": "first-drop"}
"""A short budget for ``nn`` (the paper's Adam; first step drop: the rule that lands near the best point)."""


def weighted_std(lattice: Lattice, gamma_hat: np.ndarray, mask: np.ndarray, delta: float) -> np.ndarray:
    """The linearised std of the *relatively weighted* least-squares minimiser (ols's weights
    1/Λ_s²) at γ̂: ``δ·sqrt(diag((J_wᵀJ_w)⁻¹))``, ``J_w = diag(1/Λ_s) J`` — the Gauss–Markov
    covariance, smaller than MATH.md §7's (unweighted) one wherever the entries differ in size."""
    jac = dtn_jacobian(lattice, gamma_hat, mask)
    lam = dtn_matrix(lattice, gamma_hat)[mask]
    return delta * np.linalg.norm(np.linalg.pinv(jac / np.abs(lam)[:, None]), axis=1)


def calibrate(method: str, profile: str, n: int, delta: float, seeds: int, options: dict) -> dict:
    """One row: coverage and RMS z over every (edge, seed) with error bars."""
    lattice = Lattice(n)
    gamma = conductivity_profile(profile, lattice)
    z, z_auto, z_truth, z_weighted, errors, refused = [], [], [], [], [], 0
    start = time.perf_counter()
    for seed in range(seeds):
        data = generate_dataset(gamma, n, delta, seed)
        try:
            rec = reconstruct(method, data, error_bars=True, **options)
        except ValueError:  # γ̂ not positive (CM at large δ): no linearisation point
            refused += 1
            continue
        dev = rec.gamma - gamma
        z.append(dev / rec.arrays["gamma_std"])
        z_auto.append(z[-1] * delta / estimate_dataset_noise(data).delta)
        z_truth.append(dev / (delta * predicted_std(lattice, gamma, data.mask).std_per_delta))
        z_weighted.append(dev / weighted_std(lattice, rec.gamma, data.mask, delta))
        errors.append(np.linalg.norm(dev) / np.linalg.norm(gamma))
    row = {"method": method, "profile": profile, "n": n, "delta": delta, "seeds": seeds, "refused": refused}
    if z:
        z, z_auto, z_truth, z_weighted = (np.concatenate(a) for a in (z, z_auto, z_truth, z_weighted))
        row.update(cover_1sigma=float(np.mean(np.abs(z) <= 1)), cover_2sigma=float(np.mean(np.abs(z) <= 2)),
                   rms_z=float(np.sqrt(np.mean(z ** 2))), median_abs_z=float(np.median(np.abs(z))),
                   rms_z_delta_auto=float(np.sqrt(np.mean(z_auto ** 2))),
                   rms_z_at_truth=float(np.sqrt(np.mean(z_truth ** 2))),
                   rms_z_weighted=float(np.sqrt(np.mean(z_weighted ** 2))),
                   cover_2sigma_weighted=float(np.mean(np.abs(z_weighted) <= 2)),
                   median_rel_l2=float(np.median(errors)))
    row["wall_s"] = round(time.perf_counter() - start, 2)
    return row


def parse_method(spec: str) -> tuple[str, dict]:
    """``NAME`` or ``NAME:key=value,...`` -> (name, options); values are int, float or text."""
    name, _, rest = spec.partition(":")
    options = dict(NN_OPTIONS) if name == "nn" else {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        for cast in (int, float, str):
            try:
                options[key] = cast(value)
                break
            except ValueError:
                continue
    return name, options


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--methods", nargs="+", default=["cm", "ols", "nn_fast"],
                        help="methods, each NAME or NAME:key=value,... (options; e.g. ols:stop=converge)")
    parser.add_argument("--profiles", nargs="+", default=["wave", "random"])
    parser.add_argument("--deltas", nargs="+", type=float, default=[1e-4, 1e-3, 1e-2])
    parser.add_argument("--n", type=int, default=6)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", type=Path, default=OUT, help="output stem (.csv and .md are written)")
    args = parser.parse_args(argv)
    rows = []
    for spec in args.methods:
        method, options = parse_method(spec)
        for profile in args.profiles:
            for delta in args.deltas:
                rows.append({"run": spec, **calibrate(method, profile, args.n, delta, args.seeds, options)})
                print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out.with_suffix(".csv"), index=False, float_format="%.4g")
    shown = table.drop(columns=["method", "n", "wall_s"])
    text = (f"# Error bars at the estimate: calibration\n\nn = {args.n}, full data, relative noise, noise "
            f"seeds 0..{args.seeds - 1}, profiles {', '.join(args.profiles)} (profile seed 0); bars "
            "linearised at γ̂ "
            "for the dataset's δ (MATH.md §7). Calibrated: `cover_1sigma` 0.68, `cover_2sigma` 0.95, "
            "`rms_z` 1. `rms_z_delta_auto`: δ estimated from the data; `rms_z_at_truth`: the bars "
            "linearised at the truth; `rms_z_weighted`, `cover_2sigma_weighted`: bars of the relatively "
            "weighted minimiser (ols's weights; the Gauss–Markov covariance) at γ̂; `refused`: seeds "
            "without bars (γ̂ not positive). "
            f"nn options: {NN_OPTIONS}. Command: `python benchmarks/error_bar_calibration.py`.\n\n"
            + to_markdown(shown))
    args.out.with_suffix(".md").write_text(text, encoding="utf-8")
    return table


if __name__ == "__main__":
    main()
