"""Real data: a measured DtN matrix with neither the truth nor a trusted noise level (docs/real_data.md).

The whole path a measurement takes: a ``.mat`` file in the authors' layout (their boundary order
E1..En, Sn..S1, Wn..W1, N1..Nn; Λ stored as the variable ``I``) is loaded, δ is estimated from the
matrix itself, γ is reconstructed with two methods, each with error bars (the linearised 1σ of
every edge at its own γ̂), and γ̂ is drawn with its relative error bar on the lattice. Here the
"measurement" is simulated, so at the end the truth (kept in a separate file, as a collaborator
would send it) scores both reconstructions and their error bars.

    python examples/real_data.py                  # n = 6, δ = 1e-4, into ./real_data_output/
    python examples/real_data.py --n 4 --delta 1e-3 --out /tmp/rd

Writes ``measured.mat``, ``gamma_true.mat``, ``real_data.png`` and ``summary.json`` under ``--out``.
CI runs it (tests/test_examples.py). The same path on the command line::

    discrete-eit reconstruct --method ols --dtn measured.mat:I --layout authors --delta auto \\
        --error-bars --out ols.npz
    discrete-eit evaluate --dtn measured.mat:I --layout authors --gamma-true gamma_true.mat \\
        --recon ols.npz
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # draw to files; in a notebook leave the backend alone

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import scipy.io  # noqa: E402

import discrete_eit as de  # noqa: E402
from discrete_eit.experiment.figures import ERROR_CMAP, GAMMA_CMAP, draw_edges, linear_norm, log_norm  # noqa: E402

METHODS = ("cm", "ols")


def simulate_measurement(n: int, delta: float, out: Path) -> tuple[Path, Path]:
    """A noisy Λ in the authors' layout as ``measured.mat`` (variable ``I``) and the truth apart."""
    gamma = de.conductivity_profile("wave", n)
    data = de.generate_dataset(gamma, n, delta=delta, seed=1)           # relative noise, not symmetrised
    scipy.io.savemat(out / "measured.mat", {"I": de.from_our_order(data.dtn, "authors")})
    scipy.io.savemat(out / "gamma_true.mat", {"gamma": gamma[None, :]})  # MATLAB keeps a row vector
    return out / "measured.mat", out / "gamma_true.mat"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=6, help="lattice size (default: %(default)s)")
    parser.add_argument("--delta", type=float, default=1e-4,
                        help="relative noise level of the simulated measurement (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("real_data_output"),
                        help="output directory (default: %(default)s)")
    args = parser.parse_args(argv)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    measured_file, truth_file = simulate_measurement(args.n, args.delta, out)

    # 1. Load the matrix as measured: the variable I, in the authors' boundary order (mapped to ours).
    measured = de.load_dtn_matrix(f"{measured_file}:I", layout="authors")
    lattice = measured.lattice
    print(f"loaded {measured_file}: n = {measured.n}, {int(measured.mask.sum())} measured entries, "
          f"δ unknown ({measured.delta}), truth unknown ({measured.gamma_true})")

    # 2. δ from the data: the antisymmetric part and the row sums of Λ^δ (problem/noise_estimate.py).
    estimate = de.estimate_noise_level(measured.dtn, measured.mask, "relative")
    print(f"δ estimated from the data: {estimate.delta:.3e} (model relative, {estimate.samples} deviates, "
          f"± {100 * estimate.relative_std_error:.0f} %)")

    # 3. Two methods, each with error bars at its own γ̂ for the estimated δ; ols also stops by the
    #    discrepancy rule at that δ. CM's γ̂ may not be positive at large δ: then no bars exist.
    recs = {}
    for name in METHODS:
        try:
            recs[name] = de.reconstruct(name, measured, error_bars=True, delta="auto")
        except ValueError as exc:
            print(f"{name}: {exc}")
    for name, rec in recs.items():
        rel = rec.arrays["gamma_std"] / rec.gamma
        print(f"{name:4s} median relative error bar {np.median(rel):.2e}, largest {rel.max():.2e} "
              f"(edge {int(np.argmax(rel))}); {rec.info['error_bars']}")

    # 4. Draw γ̂ and its relative error bar γ_std/γ̂ on the lattice, one row per method.
    fig, axes = plt.subplots(len(recs), 2, figsize=(8, 3.8 * len(recs)), constrained_layout=True,
                             squeeze=False)
    gnorm = linear_norm([rec.gamma for rec in recs.values()])
    enorm = log_norm([rec.arrays["gamma_std"] / rec.gamma for rec in recs.values()])
    for row, (name, rec) in zip(axes, recs.items(), strict=True):
        drawn = draw_edges(row[0], lattice, rec.gamma, gnorm, GAMMA_CMAP)
        row[0].set_title(f"{name}: γ̂")
        fig.colorbar(drawn, ax=row[0], shrink=0.8, label="conductivity")
        drawn = draw_edges(row[1], lattice, rec.arrays["gamma_std"] / rec.gamma, enorm, ERROR_CMAP)
        row[1].set_title(f"{name}: 1σ / γ̂ (δ̂ = {estimate.delta:.2g})")
        fig.colorbar(drawn, ax=row[1], shrink=0.8, label="relative error bar")
    fig.savefig(out / "real_data.png", dpi=100)
    plt.close(fig)

    # 5. The truth arrives (a separate file): score γ̂ and check the bars (|γ̂ − γ| ≤ 2σ?).
    scored = de.load_dtn_matrix(f"{measured_file}:I", layout="authors", gamma_true=truth_file)
    summary = {"n": measured.n, "delta": args.delta, "delta_estimate": estimate.delta, "methods": {}}
    for name, rec in recs.items():
        z = (rec.gamma - scored.gamma_true) / rec.arrays["gamma_std"]
        metrics = de.error_metrics(scored, rec.gamma)
        bars = {"within_1sigma": float(np.mean(np.abs(z) <= 1)),
                "within_2sigma": float(np.mean(np.abs(z) <= 2)), "rms_z": float(np.sqrt(np.mean(z ** 2)))}
        summary["methods"][name] = {**metrics, **bars}
        print(f"{name:4s} relative l2 error {metrics['relative_l2_error']:.2e}; edges within 1σ "
              f"{bars['within_1sigma']:.0%}, within 2σ {bars['within_2sigma']:.0%}, "
              f"RMS z {bars['rms_z']:.2f}")
    # CM's bars are too small (z ≫ 1): CM is not the least-squares minimiser the linearisation
    # describes, its layer peeling amplifies noise beyond it (docs/real_data.md)
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"wrote {out / 'real_data.png'} and {out / 'summary.json'}")
    return summary


if __name__ == "__main__":
    main()
