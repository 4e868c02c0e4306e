"""Speed of the NN training loop: plain autograd vs the batched hand-gradient fast path.

Measures µs per problem-iteration (wall time of a run / iterations / batch size) for
``InterpretableNet`` + ``torch.optim.Adam`` (the plain autograd loop) and for ``FastTrainer``
eager and ``torch.compile``-d, at several lattice sizes and batch sizes, on one CPU thread.
Writes ``results/benchmarks/nn_speed.csv`` and prints the table.

    .venv/bin/python benchmarks/nn_speed.py                 # n = 6, 10, 12; batch 1, 4, 16
    .venv/bin/python benchmarks/nn_speed.py --n 6 --batch 16 --min-time 2

Timings on a shared machine are noisy: the load average is recorded with every row.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from discrete_eit import Lattice, conductivity_profile, generate_dataset
from discrete_eit.methods.nn.model import InterpretableNet, train_reference
from discrete_eit.methods.nn.schedule import Schedule
from discrete_eit.methods.nn.trainer import FastTrainer, initial_gamma

FIELDS = ["n", "batch", "impl", "us_per_problem_iteration", "us_per_iteration", "iterations",
          "compile_s", "speedup_vs_autograd_same_batch", "speedup_vs_autograd_batch1", "loadavg",
          "threads", "torch"]


def _datasets(n: int, batch: int):
    """A realistic batch: noise seeds of the wave profile (the problems differ, shapes do not)."""
    g = conductivity_profile("wave", n)
    return [generate_dataset(g, n, 1e-3 if b else 0.0, seed=b) for b in range(batch)]


def _timed(run_chunk, chunk: int, min_time: float, max_iters: int) -> tuple[float, int]:
    """Run ``run_chunk(chunk)`` until ``min_time`` seconds or ``max_iters`` iterations have passed."""
    done, elapsed = 0, 0.0
    while elapsed < min_time and done < max_iters:
        t0 = time.perf_counter()
        run_chunk(chunk)
        elapsed += time.perf_counter() - t0
        done += chunk
    return elapsed, done


def bench_autograd(n: int, batch: int, min_time: float) -> dict:
    ds = _datasets(n, batch)
    net = InterpretableNet(ds, initial_gamma(Lattice(n).n_edges, 0))
    sched = Schedule()
    train_reference(net, 5, sched)  # warm-up (allocator, first-call overheads)
    elapsed, iters = _timed(lambda k: train_reference(net, k, sched), 20, min_time, 100_000)
    return {"impl": "autograd", "elapsed": elapsed, "iterations": iters, "compile_s": 0.0}


def bench_fast(n: int, batch: int, min_time: float, compiled: bool) -> dict:
    ds = _datasets(n, batch)
    t0 = time.perf_counter()
    tr = FastTrainer(ds, initial_gamma(Lattice(n).n_edges, 0), compile="on" if compiled else "off")
    compile_s = time.perf_counter() - t0 if compiled else 0.0
    tr.run(50, progress=0)  # warm-up
    chunk = 2000 if compiled else 200
    elapsed, iters = _timed(lambda k: tr.run(k, log_every=10**9, progress=0), chunk, min_time,
                            10**7)
    return {"impl": "fast-compiled" if compiled else "fast-eager", "elapsed": elapsed,
            "iterations": iters, "compile_s": compile_s}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, nargs="+", default=[6, 10, 12])
    p.add_argument("--batch", type=int, nargs="+", default=[1, 4, 16])
    p.add_argument("--min-time", type=float, default=1.5, help="seconds timed per measurement")
    p.add_argument("--no-compile", action="store_true", help="skip the torch.compile variant")
    p.add_argument("--out", type=Path, default=Path("results/benchmarks/nn_speed.csv"))
    args = p.parse_args(argv)

    torch.set_num_threads(1)
    rows = []
    for n in args.n:
        ref_b1 = None
        for batch in args.batch:
            runs = [bench_autograd(n, batch, args.min_time), bench_fast(n, batch, args.min_time, False)]
            if not args.no_compile:
                runs.append(bench_fast(n, batch, args.min_time, True))
            ref = None
            for r in runs:
                us = 1e6 * r["elapsed"] / r["iterations"]
                per_problem = us / batch
                if r["impl"] == "autograd":
                    ref = per_problem
                    if batch == 1:
                        ref_b1 = per_problem
                row = {"n": n, "batch": batch, "impl": r["impl"],
                       "us_per_problem_iteration": round(per_problem, 2),
                       "us_per_iteration": round(us, 2), "iterations": r["iterations"],
                       "compile_s": round(r["compile_s"], 1),
                       "speedup_vs_autograd_same_batch": round(ref / per_problem, 2),
                       "speedup_vs_autograd_batch1": (round(ref_b1 / per_problem, 2)
                                                      if ref_b1 else float("nan")),
                       "loadavg": round(os.getloadavg()[0], 2), "threads": torch.get_num_threads(),
                       "torch": torch.__version__}
                rows.append(row)
                print(f"n={n:3d} batch={batch:3d} {r['impl']:14s} {per_problem:10.1f} µs/problem-it "
                      f"x{row['speedup_vs_autograd_same_batch']:7.1f} (same batch) "
                      f"x{row['speedup_vs_autograd_batch1']:7.1f} (vs autograd batch 1)  "
                      f"load {row['loadavg']}", file=sys.stderr, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(rows)
    print(f"\nµs per problem-iteration ({args.out}):")
    header = f"{'n':>3} {'batch':>5} " + " ".join(f"{i:>14}" for i in
                                                     ("autograd", "fast-eager", "fast-compiled"))
    print(header)
    for n in args.n:
        for batch in args.batch:
            vals = {r["impl"]: r["us_per_problem_iteration"] for r in rows
                    if r["n"] == n and r["batch"] == batch}
            print(f"{n:3d} {batch:5d} " + " ".join(
                f"{vals.get(i, np.nan):14.1f}" for i in ("autograd", "fast-eager", "fast-compiled")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
