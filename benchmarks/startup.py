"""Start-up time of short CLI commands, against ``python -c "import numpy"``.

Each command is a fresh process, as a workflow job runs it (n = 4 data, so the computation is
negligible and the wall time is start-up: imports, argument parsing, provenance). The commands
run round-robin, N times each, so that every one sees the same machine load; the table gives the
median wall time and its ratio to the numpy baseline's median (the target for generate, evaluate
and ``reconstruct --method cm``: <= 2). Writes ``benchmarks/results/startup.{csv,md}``.

Run: ``python benchmarks/startup.py [--runs 10] [--pythonpath SRC] [--tag NAME]``; ``--pythonpath``
points at another source tree (e.g. an older checkout's ``src``) to compare, ``--tag`` names the
results files (``startup_NAME.*``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parents[1]


def source_line(pythonpath: Path) -> str:
    """The timed source tree as the results name it: relative to this checkout, never a machine path."""
    path = pythonpath.resolve()
    if path.is_relative_to(ROOT):
        return f"Source: `{path.relative_to(ROOT).as_posix() or '.'}` of this checkout"
    probe = subprocess.run(["git", "-C", str(path), "rev-parse", "--short", "HEAD"], capture_output=True,
                           text=True, check=False)
    commit = probe.stdout.strip() if probe.returncode == 0 else ""
    return f"Source: another checkout's source tree{f' (commit {commit})' if commit else ''}"


def commands(d: Path) -> dict[str, list[str]]:
    cli = [sys.executable, "-m", "discrete_eit"]
    return {
        'python -c "import numpy"': [sys.executable, "-c", "import numpy"],
        "generate": [*cli, "generate", "--n", "4", "--delta", "1e-3", "--seed", "1",
                     "--out", str(d / "g.npz")],
        "evaluate": [*cli, "evaluate", "--data", str(d / "d.npz"), "--recon", str(d / "r.npz"),
                     "--out", str(d / "e.json")],
        "reconstruct --method cm": [*cli, "reconstruct", "--method", "cm", "--data", str(d / "d.npz"),
                                    "--out", str(d / "c.npz")],
        "reconstruct --method ols": [*cli, "reconstruct", "--method", "ols", "--data", str(d / "d.npz"),
                                     "--out", str(d / "o.npz")],
        "sensitivity": [*cli, "sensitivity", "--data", str(d / "d.npz"), "--out", str(d / "s.npz")],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--pythonpath", type=Path, default=ROOT / "src",
                        help="source tree to time (default: this checkout's src)")
    parser.add_argument("--tag", default="", help="suffix of the results files")
    args = parser.parse_args()
    # Bytecode caching on, as in any normal install (a session with PYTHONDONTWRITEBYTECODE=1 would
    # recompile the whole package in every process and time the compiler, not the start-up).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=str(args.pythonpath.resolve()), OPENBLAS_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for argv in (["generate", "--n", "4", "--delta", "1e-3", "--seed", "1", "--out", str(d / "d.npz")],
                     ["reconstruct", "--method", "cm", "--data", str(d / "d.npz"),
                      "--out", str(d / "r.npz")]):
            subprocess.run([sys.executable, "-m", "discrete_eit", *argv], env=env, check=True,
                           capture_output=True)
        cmds = commands(d)
        for argv in cmds.values():  # warm-up: bytecode written, files in the page cache
            subprocess.run(argv, env=env, check=True, capture_output=True)
        times: dict[str, list[float]] = {name: [] for name in cmds}
        for _ in range(args.runs):
            for name, argv in cmds.items():
                start = time.perf_counter()
                subprocess.run(argv, env=env, check=True, capture_output=True)
                times[name].append(time.perf_counter() - start)
    base = statistics.median(times['python -c "import numpy"'])
    rows = [(name, statistics.median(t), statistics.median(t) / base, min(t)) for name, t in times.items()]
    suffix = f"_{args.tag}" if args.tag else ""
    RESULTS.mkdir(exist_ok=True)
    csv = ["command,median_s,ratio_to_numpy,min_s,runs"]
    csv += [f"{n},{m:.4f},{r:.3f},{lo:.4f},{args.runs}" for n, m, r, lo in rows]
    (RESULTS / f"startup{suffix}.csv").write_text("\n".join(csv) + "\n")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    md = [f"# Start-up of short commands ({args.runs} runs each, round-robin; load average {load:.1f})",
          "", source_line(args.pythonpath), "",
          "| command | median wall (s) | × `import numpy` | min (s) |", "|---|---|---|---|"]
    md += [f"| {n} | {m:.3f} | {r:.2f} | {lo:.3f} |" for n, m, r, lo in rows]
    (RESULTS / f"startup{suffix}.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
