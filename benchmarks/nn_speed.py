"""Speed of the NN's Adam loop: the fused numba kernel beside the torch path.

µs per problem-iteration (time of a run / iterations / batch size), float64, one thread, for

* ``numba`` — :class:`KernelTrainer`, the default backend on the CPU;
* ``torch-compiled`` / ``torch-eager`` — :class:`FastTrainer` with and without ``torch.compile``;
* ``autograd`` (``--autograd``) — ``InterpretableNet`` + ``torch.optim.Adam``, the plain loop.

Each cell is timed several times (``--repeats``) and the fastest repeat is kept, as wall time and
as the process' CPU time: on a shared machine the CPU time is the better estimate of what an idle
machine would give (it excludes the time the process waits for a core, though not the slowdown
of a busy neighbour). The load average (``os.getloadavg``) is recorded with every row. Writes
``benchmarks/results/nn_speed.csv`` and ``benchmarks/results/nn_speed.md``.

    python benchmarks/nn_speed.py                          # n = 6, 10, 12; batch 1, 16
    python benchmarks/nn_speed.py --n 6 --batch 1 --no-torch
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from discrete_eit import Lattice, conductivity_profile, generate_dataset
from discrete_eit.methods.nn.kernel_trainer import KernelTrainer
from discrete_eit.methods.nn.schedule import Schedule
from discrete_eit.methods.nn.training import initial_gamma

RESULTS = Path(__file__).parent / "results"
FIELDS = ["n", "batch", "impl", "us_wall", "us_cpu", "iterations", "compile_s", "load_before",
          "load_after"]
#: The kernel's speed targets at batch 1 on an idle machine (µs per problem-iteration).
TARGETS = {6: 10.0, 10: 35.0, 12: 80.0}


def _datasets(n: int, batch: int):
    """A realistic batch: noise seeds of the wave profile (the problems differ, shapes do not)."""
    g = conductivity_profile("wave", n)
    return [generate_dataset(g, n, 1e-3 if b else 0.0, seed=b) for b in range(batch)]


def _best(run_chunk, chunk: int, repeats: int) -> tuple[float, float]:
    """Fastest (wall, CPU) seconds per iteration of ``run_chunk(chunk)`` over ``repeats`` calls."""
    wall = cpu = np.inf
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        run_chunk(chunk)
        wall = min(wall, (time.perf_counter() - t0) / chunk)
        cpu = min(cpu, (time.process_time() - c0) / chunk)
    return wall, cpu


def _chunk(us_guess: float, batch: int, seconds: float) -> int:
    return max(20, int(seconds / (us_guess * 1e-6 * batch)))


def bench_numba(ds, seconds: float, repeats: int) -> dict:
    t0 = time.perf_counter()
    tr = KernelTrainer(ds, initial_gamma(Lattice(ds[0].n).n_edges, 0))
    compile_s = time.perf_counter() - t0
    tr.run(50, progress=0)
    chunk = _chunk(0.3 * ds[0].n ** 3 / 6, len(ds), seconds)
    wall, cpu = _best(lambda k: tr.run(k, log_every=10**9, progress=0), chunk, repeats)
    return {"impl": "numba", "wall": wall, "cpu": cpu, "iterations": chunk * repeats,
            "compile_s": compile_s}


def bench_torch(ds, seconds: float, repeats: int, compiled: bool) -> dict:
    from discrete_eit.methods.nn.trainer import FastTrainer

    t0 = time.perf_counter()
    tr = FastTrainer(ds, initial_gamma(Lattice(ds[0].n).n_edges, 0),
                     compile="on" if compiled else "off")
    compile_s = time.perf_counter() - t0 if compiled else 0.0
    tr.run(20, progress=0)
    chunk = _chunk(150 if compiled else 800, 1, seconds)
    wall, cpu = _best(lambda k: tr.run(k, log_every=10**9, progress=0), chunk, repeats)
    return {"impl": "torch-compiled" if compiled else "torch-eager", "wall": wall, "cpu": cpu,
            "iterations": chunk * repeats, "compile_s": compile_s}


def bench_autograd(ds, seconds: float, repeats: int) -> dict:
    from discrete_eit.methods.nn.model import InterpretableNet, train_reference

    net = InterpretableNet(ds, initial_gamma(Lattice(ds[0].n).n_edges, 0))
    sched = Schedule()
    train_reference(net, 5, sched)
    chunk = _chunk(1000, 1, seconds)
    wall, cpu = _best(lambda k: train_reference(net, k, sched), chunk, repeats)
    return {"impl": "autograd", "wall": wall, "cpu": cpu, "iterations": chunk * repeats,
            "compile_s": 0.0}


def _markdown(rows: list[dict], impls: list[str], args) -> str:
    import numba

    torch_version = sys.modules["torch"].__version__ if "torch" in sys.modules else "not loaded"
    lines = [
        "# NN Adam loop: µs per problem-iteration",
        "",
        f"`python benchmarks/nn_speed.py {' '.join(sys.argv[1:])}` — float64, one thread; fastest of "
        f"{args.repeats} repeats of ≈ {args.seconds} s each. CPU = the process' CPU time (excludes "
        "waiting for a core), wall = elapsed time. Machine: "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; numba "
        f"{numba.__version__}, torch {torch_version}.",
        "",
        "| n | batch | " + " | ".join(f"{i} CPU (wall)" for i in impls)
        + " | target (batch 1) | load before / after |",
        "|---|---|" + "---|" * len(impls) + "---|---|",
    ]
    for n in args.n:
        for batch in args.batch:
            cells = {r["impl"]: r for r in rows if r["n"] == n and r["batch"] == batch}
            if not cells:
                continue
            vals = [f"{cells[i]['us_cpu']:.1f} ({cells[i]['us_wall']:.1f})" if i in cells else "–"
                    for i in impls]
            loads = [c["load_before"] for c in cells.values()] + [c["load_after"] for c in cells.values()]
            target = f"≤ {TARGETS[n]:.0f}" if batch == 1 and n in TARGETS else ""
            lines.append(f"| {n} | {batch} | " + " | ".join(vals)
                         + f" | {target} | {min(loads):.1f} – {max(loads):.1f} |")
    compile_rows = [r for r in rows if r["compile_s"] > 0]
    if compile_rows:
        lines += ["", "First call (s; numba: compile or cache load, torch: `torch.compile`): "
                  + ", ".join(f"{r['impl']} n={r['n']} b={r['batch']}: {r['compile_s']:.1f}"
                              for r in compile_rows)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, nargs="+", default=[6, 10, 12])
    p.add_argument("--batch", type=int, nargs="+", default=[1, 16])
    p.add_argument("--seconds", type=float, default=0.5, help="seconds per timed repeat")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--no-torch", action="store_true", help="time the numba kernel only")
    p.add_argument("--no-eager", action="store_true", help="skip torch eager")
    p.add_argument("--autograd", action="store_true", help="also time the plain autograd loop")
    p.add_argument("--out", type=Path, default=RESULTS / "nn_speed.csv")
    args = p.parse_args(argv)

    impls = ["numba"]
    if not args.no_torch:
        import torch

        torch.set_num_threads(1)
        impls += ["torch-compiled"] + ([] if args.no_eager else ["torch-eager"])
        impls += ["autograd"] if args.autograd else []
    rows = []
    for n in args.n:
        for batch in args.batch:
            ds = _datasets(n, batch)
            for impl in impls:
                load = os.getloadavg()[0]
                if impl == "numba":
                    r = bench_numba(ds, args.seconds, args.repeats)
                elif impl == "autograd":
                    r = bench_autograd(ds, args.seconds, args.repeats)
                else:
                    r = bench_torch(ds, args.seconds, args.repeats, impl == "torch-compiled")
                row = {"n": n, "batch": batch, "impl": impl,
                       "us_wall": round(1e6 * r["wall"] / batch, 2),
                       "us_cpu": round(1e6 * r["cpu"] / batch, 2), "iterations": r["iterations"],
                       "compile_s": round(r["compile_s"], 2), "load_before": round(load, 2),
                       "load_after": round(os.getloadavg()[0], 2)}
                rows.append(row)
                print(f"n={n:3d} batch={batch:3d} {impl:15s} {row['us_cpu']:9.1f} µs CPU "
                      f"{row['us_wall']:9.1f} µs wall  load {load:.1f}", file=sys.stderr, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(rows)
    md = _markdown(rows, impls, args)
    args.out.with_suffix(".md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
