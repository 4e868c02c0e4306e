"""Quickstart: the discrete-eit Python API in one script (README "Python API").

Makes a dataset (the paper's wave profile, relative noise δ, partial data), saves and reloads it,
reads the same matrix as a measured CSV in the authors' boundary order, reconstructs it with three
methods chosen by name and options, scores them, predicts the noise-driven error by linearisation,
and draws the truth and one reconstruction on the lattice.

    python examples/quickstart.py                 # n = 6, into ./quickstart_output/
    python examples/quickstart.py --n 4 --out /tmp/qs

Writes ``data.npz`` (+ sidecar), ``measured_authors.csv``, ``quickstart.png`` and
``summary.json`` (the numbers printed) under ``--out``. CI runs it (tests/test_examples.py).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # draw to files; in a notebook leave the backend alone

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import discrete_eit as de  # noqa: E402
from discrete_eit.experiment.figures import GAMMA_CMAP, draw_edges, linear_norm  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=6, help="lattice size (default: %(default)s)")
    parser.add_argument("--delta", type=float, default=1e-3,
                        help="relative noise level (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("quickstart_output"),
                        help="output directory (default: %(default)s)")
    args = parser.parse_args(argv)
    n, delta, out = args.n, args.delta, args.out
    out.mkdir(parents=True, exist_ok=True)

    # 1. A dataset: γ of the paper's wave profile, Λ^δ = Λ + δ Λ ⊙ ξ (seed 1), measured on last3n
    #    (the N×N block of Λ is missing: NaN in dtn, False in mask).
    lattice = de.Lattice(n)
    gamma = de.conductivity_profile("wave", lattice)            # (2n(n+1),), MATH.md edge order
    data = de.generate_dataset(gamma, n, delta=delta, seed=1, partial_set="last3n")
    de.save_dataset(out / "data.npz", data, params={"n": n, "made_by": "examples/quickstart.py"})
    data = de.load_dataset(out / "data.npz")                     # checked against its sidecar hash

    # The same matrix as a researcher's CSV in the authors' order (E1..En, Sn..S1, Wn..W1, N1..Nn);
    # "nan" cells are unmeasured. load_dtn_matrix maps it back to ours.
    np.savetxt(out / "measured_authors.csv", de.from_our_order(data.dtn, "authors"), delimiter=",")
    measured = de.load_dtn_matrix(out / "measured_authors.csv", layout="authors")
    assert np.array_equal(measured.mask, data.mask)

    # 2. Reconstruct by method name; options are keyword arguments (see de.get_method(name).options).
    runs = {"cm": {}, "nn_fast": {"lam": 10}, "ols": {"weighting": "relative", "max_iterations": 100}}
    recs, metrics = {}, {}
    for name, options in runs.items():
        recs[name] = de.reconstruct(name, data, **options)
        metrics[name] = de.error_metrics(data, recs[name].gamma)  # needs data.gamma_true
        shown = ", ".join(f"{k}={v}" for k, v in options.items()) or "defaults"
        print(f"{name:8s} {shown:38s} relative l2 error {metrics[name]['relative_l2_error']:.3e}  "
              f"max relative error {metrics[name]['max_relative_error']:.3e}")
    try:                                                         # errors name the parameter
        de.reconstruct("cm", data, lam=10)
    except de.OptionError as exc:
        print(f"as expected: {exc}")

    # 3. Sensitivity: the linearised std of each edge per unit δ on this index set (MATH.md §7).
    sens = de.predicted_std(lattice, gamma, data.mask)
    predicted = delta * np.linalg.norm(sens.std_per_delta) / np.linalg.norm(gamma)
    print(f"predicted relative l2 error of least squares at δ = {delta:g} (RMS over noise draws): "
          f"{predicted:.3e} (Jacobian rank {sens.rank} of {sens.n_params})")

    # 4. Draw the truth and the nn_fast reconstruction on the lattice edges, one colour scale.
    fig, axes = plt.subplots(1, 2, figsize=(8, 4), constrained_layout=True)
    norm = linear_norm([gamma, recs["nn_fast"].gamma])
    for ax, values, title in ((axes[0], gamma, "true γ (wave)"),
                              (axes[1], recs["nn_fast"].gamma, f"nn_fast, δ = {delta:g}, last3n")):
        collection = draw_edges(ax, lattice, values, norm, GAMMA_CMAP)
        ax.set_title(title)
    fig.colorbar(collection, ax=axes, shrink=0.8, label="conductivity")
    fig.savefig(out / "quickstart.png", dpi=100)
    plt.close(fig)

    summary = {"n": n, "delta": delta, "errors": metrics, "predicted_relative_l2_error": predicted,
               "sensitivity_rank": sens.rank, "n_params": sens.n_params}
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=float) + "\n")
    print(f"wrote {out / 'quickstart.png'} and {out / 'summary.json'}")
    return summary


if __name__ == "__main__":
    main()
