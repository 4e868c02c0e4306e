"""Is Fig 3a's failure the paper's schedule or ours? The β schedules compared (docs/workflow.md, "Schedule").

Trains method ``nn`` (numba kernel) with its defaults — the default grid's run: 2·10⁵ iterations,
stop rule ``min-step`` — on the wave profile for every variant

* ``schedule`` ``paper`` (both betas raised at the drops) or ``authors`` (β₁ only, β₂ = 0.999),
* ``moments`` ``keep`` (as today) or ``reset`` at a β change,
* ``factor`` 0.1 (the paper's step division) or 0.5 (the authors' code mostly halves the step),

on exact data (n = 6, 8, 10) and on noisy data (δ = 1e-3, noise seeds 1 and 2). Records the loss
curve (every 100 iterations), the largest loss spike ``max_i loss[i] / min(loss[:i])``, the final
loss and the final relative ℓ² error of γ. Writes ``benchmarks/results/schedule_study.{csv,md}``
and the figure ``docs/img/schedule_study.png`` (exact data: loss vs iteration, one panel per n).

    python benchmarks/schedule_study.py                  # ≈ 10 min CPU
    python benchmarks/schedule_study.py --n 6 --iterations 50000 --seeds 1
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from discrete_eit import conductivity_profile, generate_dataset
from discrete_eit.methods.registry import reconstruct_many

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
FIGURE = ROOT / "docs" / "img" / "schedule_study.png"
VARIANTS = list(itertools.product(("paper", "authors"), ("keep", "reset"), (0.1, 0.5)))


def spike(loss: np.ndarray) -> tuple[float, int]:
    """The largest jump of the loss above its running minimum: ``max_i loss[i] / min(loss[:i])``
    over the recorded history, and the index i where it happens."""
    loss = np.asarray(loss, dtype=float)
    if loss.size < 2:
        return 1.0, 0
    ratio = loss[1:] / np.minimum.accumulate(loss[:-1])
    i = int(np.argmax(ratio))
    return float(ratio[i]), i + 1


def run_case(datasets, variant, iterations: int, log_every: int) -> list[dict]:
    schedule, moments, factor = variant
    t0 = time.perf_counter()
    recs = reconstruct_many("nn", datasets, iterations=iterations, stop="min-step", schedule=schedule,
                            moments=moments, factor=factor, log_every=log_every, progress=0.0,
                            backend="numba")
    wall = time.perf_counter() - t0
    rows = []
    for d, r in zip(datasets, recs, strict=True):
        h = r.arrays["history"]
        ratio, at = spike(h[:, 1])
        rows.append({"n": d.n, "delta": d.delta, "seed": d.seed, "schedule": schedule,
                     "moments": moments, "factor": factor, "iterations": r.info["iterations"],
                     "stop_reason": r.info["stop_reason"], "drops": r.info["step_drops"],
                     "final_loss": r.info["final_loss"], "final_error": r.info["relative_error"],
                     "best_error": float(np.nanmin(h[:, 3])), "max_spike": ratio,
                     "spike_iteration": int(h[at, 0]), "wall_s": wall / len(datasets),
                     "_history": h})
    return rows


def _figure(rows: list[dict], ns: list[int]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(ns), figsize=(4.2 * len(ns), 3.6), squeeze=False)
    styles = {("paper", "keep"): ("C0", "-"), ("paper", "reset"): ("C0", ":"),
              ("authors", "keep"): ("C3", "-"), ("authors", "reset"): ("C3", ":")}
    for ax, n in zip(axes[0], ns, strict=True):
        for r in rows:
            if r["n"] != n or r["delta"] != 0.0:
                continue
            color, ls = styles[(r["schedule"], r["moments"])]
            h = r["_history"]
            ax.semilogy(h[:, 0], np.maximum(h[:, 1], 1e-32), color=color, ls=ls,
                        lw=1.6 if r["factor"] == 0.1 else 0.8, alpha=1.0 if r["factor"] == 0.1 else 0.7,
                        label=f"{r['schedule']}, {r['moments']}, factor {r['factor']}")
        ax.set_title(f"n = {n}, exact data")
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("loss ℓ")
    axes[0][-1].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIGURE, dpi=120)


def _markdown(df: pd.DataFrame, argv: list[str], iterations: int) -> str:
    def table(sub: pd.DataFrame, cols: list[str]) -> list[str]:
        out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for _, r in sub.iterrows():
            out.append("| " + " | ".join(
                f"{r[c]:.2e}" if isinstance(r[c], float) and c not in ("factor", "delta") else str(r[c])
                for c in cols) + " |")
        return out

    key = ["n", "schedule", "moments", "factor"]
    exact = df[df.delta == 0.0].sort_values(key)
    noisy = (df[df.delta > 0].groupby(key, as_index=False)
             .agg(final_error=("final_error", "median"), best_error=("best_error", "median"),
                  max_spike=("max_spike", "max"), drops=("drops", "max"), seeds=("seed", "count"))
             .sort_values(key))
    lines = ["# Schedule study: the β schedules compared", "",
             f"`python benchmarks/schedule_study.py {' '.join(argv)}` — method nn (numba kernel), "
             f"defaults of the default grid ({iterations:.0e} iterations, stop min-step, patience 2e4, "
             "lr 2e-3), "
             f"wave profile. Load average at the end: {os.getloadavg()[0]:.1f}.", "",
             "## Exact data", ""]
    lines += table(exact, key + ["drops", "stop_reason", "final_loss", "final_error", "max_spike",
                                 "spike_iteration"])
    if len(noisy):
        lines += ["", f"## Noisy data (δ = {df[df.delta > 0].delta.iloc[0]:g}), median over seeds "
                  "(spike: max)", ""]
        lines += table(noisy, key + ["seeds", "drops", "final_error", "best_error", "max_spike"])
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, nargs="+", default=[6, 8, 10])
    p.add_argument("--iterations", type=int, default=200_000)
    p.add_argument("--log-every", type=int, default=100)
    p.add_argument("--delta", type=float, default=1e-3)
    p.add_argument("--seeds", type=int, nargs="*", default=[1, 2], help="noise seeds (none: exact only)")
    args = p.parse_args(argv)

    rows = []
    for n in args.n:
        gamma = conductivity_profile("wave", n)
        exact = [generate_dataset(gamma, n, 0.0)]
        noisy = [generate_dataset(gamma, n, args.delta, seed=s) for s in args.seeds]
        for variant in VARIANTS:
            for datasets in (exact, noisy):
                if not datasets:
                    continue
                new = run_case(datasets, variant, args.iterations, args.log_every)
                rows += new
                for r in new:
                    print(f"n={n} δ={r['delta']:g} s={r['seed']} {variant}: error {r['final_error']:.2e} "
                          f"loss {r['final_loss']:.2e} spike ×{r['max_spike']:.3g} at {r['spike_iteration']} "
                          f"drops {r['drops']} ({r['wall_s']:.0f} s)", file=sys.stderr, flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame([{k: v for k, v in r.items() if k != "_history"} for r in rows])
    df.to_csv(RESULTS / "schedule_study.csv", index=False)
    (RESULTS / "schedule_study.md").write_text(_markdown(df, argv, args.iterations))
    _figure(rows, args.n)
    print((RESULTS / "schedule_study.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
