"""Command-line interface ``discrete-eit`` (also ``python -m discrete_eit``).

Sub-commands: ``generate``, ``reconstruct``, ``sensitivity``, ``evaluate``, ``audit``,
``manifest``. Every
error is one line on stderr — ``discrete-eit: error: FILE: problem`` for bad data, the flag for
usage errors — with exit code 1 (2 for usage errors). Outputs are written atomically, each with
its sidecar, so a failed command leaves no output behind.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from discrete_eit.artifacts.formats import (
    DATASET_FIELDS,
    load_dataset,
    load_dtn_matrix,
    load_gamma,
    load_result,
    save_dataset,
    write_artifact,
    write_bytes_artifact,
)
from discrete_eit.artifacts.sidecar import to_json
from discrete_eit.methods.registry import OptionError, load_methods, reconstruct_many
from discrete_eit.problem.datasets import DataError, generate_dataset
from discrete_eit.problem.forward import check_gamma
from discrete_eit.problem.lattice import Lattice
from discrete_eit.problem.metrics import error_metrics
from discrete_eit.problem.partial import PARTIAL_SETS
from discrete_eit.problem.profiles import PROFILES, conductivity_profile
from discrete_eit.problem.sensitivity import predicted_std

from . import __version__

log = logging.getLogger("discrete_eit")


def _int_at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
        return value
    return parse


_positive_int = _int_at_least(1)
_nonneg_int = _int_at_least(0)


def _nonneg_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not np.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


# ---- generate ------------------------------------------------------------------------------
def cmd_generate(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    lattice = Lattice(args.n)
    inputs = []
    if args.gamma is not None:
        gamma = load_gamma(args.gamma, lattice.n_edges)
        inputs.append(args.gamma)
        profile = "user"
    else:
        gamma = conductivity_profile(args.profile, lattice, args.profile_seed)
        profile = args.profile
    dataset = generate_dataset(gamma, args.n, args.delta, args.seed, args.partial_set, args.symmetric_noise)
    dataset = dataclasses.replace(dataset, profile=profile,
                                  profile_seed=None if args.gamma is not None else args.profile_seed)
    # The sidecar describes the file (its typed fields), it never adds to them.
    params = {"n": args.n, **{k: getattr(dataset, k) for k in DATASET_FIELDS}}
    save_dataset(args.out, dataset, params, inputs, time.perf_counter() - start)
    log.info("wrote %s (n=%d, delta=%g, seed=%d, partial_set=%s, %d measured entries)", args.out, args.n,
             args.delta, args.seed, args.partial_set, int(dataset.mask.sum()))
    return 0


# ---- reconstruct ---------------------------------------------------------------------------
def cmd_reconstruct(args: argparse.Namespace, method_options: dict) -> int:
    sources = args.data if args.data else [args.dtn]
    if len(args.out) != len(sources):
        raise DataError(f"got {len(sources)} input file(s) but {len(args.out)} --out file(s)")
    datasets = [load_dataset(p) if args.data else load_dtn_matrix(p) for p in sources]
    method = load_methods()[args.method]
    try:
        options = method.resolve_options(method_options)
    except OptionError as exc:
        raise DataError(exc.as_flag()) from None
    start = time.perf_counter()
    try:
        results = reconstruct_many(args.method, datasets, **options)
    except ValueError as exc:  # name the input: e.g. a partial set CM cannot complete
        raise DataError(f"{', '.join(map(str, sources))}: {exc}") from None
    wall = time.perf_counter() - start
    for src, out, rec in zip(sources, args.out, results, strict=True):
        gamma = np.asarray(rec.gamma, dtype=np.float64)
        arrays = {"gamma": gamma, **rec.arrays}
        params = {"method": args.method, "options": options, "data": str(src)}
        write_artifact(out, arrays, "reconstruction", params, [src], wall / len(sources),
                       extra={"info": rec.info, "batch_size": len(sources)})
        log.info("wrote %s (%s, %.2f s)", out, args.method, wall / len(sources))
    return 0


# ---- sensitivity ---------------------------------------------------------------------------
def cmd_sensitivity(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    dataset = load_dataset(args.data)
    inputs = [args.data]
    if args.recon is not None:
        gamma = load_result(args.recon)["gamma"]
        try:
            check_gamma(dataset.lattice, gamma)
        except ValueError as exc:
            raise DataError(f"{args.recon}: cannot linearise here: {exc}") from None
        inputs.append(args.recon)
    elif dataset.gamma_true is not None:
        gamma = dataset.gamma_true
    else:
        raise DataError(f"{args.data}: no gamma_true; pass --recon FILE.npz to linearise at a reconstruction")
    result = predicted_std(dataset.lattice, gamma, dataset.mask)
    delta = (np.nan if dataset.delta is None else dataset.delta) if args.delta is None else args.delta
    arrays = {"std_per_delta": result.std_per_delta, "std": delta * result.std_per_delta,
              "relative_std_per_delta": result.std_per_delta / gamma, "gamma_linearised": gamma,
              "rank": np.int64(result.rank), "n_params": np.int64(result.n_params),
              "singular_values": result.singular_values, "delta": np.float64(delta)}
    if result.full_rank:
        rel = result.std_per_delta / gamma
        summary = {"rank": result.rank, "n_params": result.n_params, "full_rank": True,
                   "max_relative_std_per_delta": float(rel.max()),
                   "median_relative_std_per_delta": float(np.median(rel))}
    else:
        summary = {"rank": result.rank, "n_params": result.n_params, "full_rank": False,
                   "rank_deficiency": result.rank_deficiency}
        log.warning("%s: Jacobian rank deficient by %d (rank %d of %d): no error prediction",
                    args.data, result.rank_deficiency, result.rank, result.n_params)
    write_artifact(args.out, arrays, "sensitivity", {"delta": delta, "linearised_at":
                   "reconstruction" if args.recon else "gamma_true"}, inputs,
                   time.perf_counter() - start, extra={"info": summary})
    print(json.dumps(summary))
    return 0


# ---- evaluate ------------------------------------------------------------------------------
def cmd_evaluate(args: argparse.Namespace) -> int:
    dataset = load_dataset(args.data)
    gamma_hat = load_result(args.recon)["gamma"]
    if gamma_hat.shape != (dataset.lattice.n_edges,):
        raise DataError(f"{args.recon}: gamma has shape {gamma_hat.shape}, dataset {args.data} needs "
                        f"({dataset.lattice.n_edges},)")
    metrics = error_metrics(dataset, gamma_hat)
    text = to_json(metrics)
    if args.out:
        write_bytes_artifact(args.out, text.encode(), "metrics",
                             {"data": str(args.data), "recon": str(args.recon)}, [args.data, args.recon])
    sys.stdout.write(text)
    return 0


# ---- audit ---------------------------------------------------------------------------------
def cmd_audit(args: argparse.Namespace) -> int:
    from discrete_eit.artifacts.audit import audit
    from discrete_eit.experiment.tables import KEYS

    return audit(args.path, args.root, args.row, shown=(*KEYS, "rel_l2", "status"))


# ---- parser --------------------------------------------------------------------------------
class _OneLineErrorParser(argparse.ArgumentParser):
    """Usage errors as a single line (the full usage is one ``--help`` away)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineErrorParser(prog="discrete-eit", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="generate an exact or noisy DtN dataset")
    g.add_argument("--n", type=_positive_int, required=True, help="lattice size n (n×n interior nodes)")
    src = g.add_mutually_exclusive_group()
    src.add_argument("--profile", default="wave", choices=sorted(PROFILES), help="conductivity profile")
    src.add_argument("--gamma", type=Path, help="user conductivity (.npy, 2n(n+1) values, MATH.md order)")
    g.add_argument("--profile-seed", type=_nonneg_int, default=0, help="seed of random profiles (default 0)")
    g.add_argument("--delta", "--noise", type=_nonneg_float, default=0.0,
                   help="relative noise level δ (default 0; --noise is the old spelling)")
    g.add_argument("--seed", type=_nonneg_int, default=0, help="noise seed (default 0)")
    g.add_argument("--partial-set", "--partial", default="full", choices=sorted(PARTIAL_SETS),
                   help="partial-data set (default full; --partial is the old spelling)")
    g.add_argument("--symmetric-noise", action="store_true", help="symmetrise ξ so Λ^δ stays symmetric")
    g.add_argument("--out", type=Path, required=True)

    methods = load_methods()
    r = sub.add_parser("reconstruct", help="reconstruct γ with a method",
                       description="Method options: " + "; ".join(
                           f"{m.name}: " + ", ".join("--" + o.name.replace("_", "-") for o in m.options)
                           for m in methods.values()))
    r.add_argument("--method", required=True, choices=sorted(methods))
    data = r.add_mutually_exclusive_group(required=True)
    data.add_argument("--data", type=Path, nargs="+", help="dataset .npz file(s); several are batched")
    data.add_argument("--dtn", type=Path, help="a measured 4n×4n DtN matrix (.npy, NaN = unmeasured)")
    r.add_argument("--out", type=Path, nargs="+", required=True, help="one output .npz per input")
    # One flag per option name across all methods; Method.resolve_options rejects flags that do
    # not apply to the chosen method. The first declaration's type and help are used.
    declared: dict[str, list] = {}
    for m in methods.values():
        for o in m.options:
            declared.setdefault(o.name, []).append((m.name, o))
    for name, uses in declared.items():
        helps = {o.help for _, o in uses}
        if len(helps) == 1:
            text = f"{uses[0][1].help} (methods: {', '.join(m for m, _ in uses)})"
        else:
            text = "; ".join(f"{m}: {o.help}" for m, o in uses)
        r.add_argument("--" + name.replace("_", "-"), dest="opt_" + name, type=uses[0][1].type,
                       metavar=name.upper(), default=argparse.SUPPRESS, help=text)

    s = sub.add_parser("sensitivity", help="predicted pointwise error (linearised) for a dataset's index set")
    s.add_argument("--data", type=Path, required=True)
    s.add_argument("--recon", type=Path, help="linearise at this reconstruction instead of gamma_true")
    s.add_argument("--delta", type=_nonneg_float, help="noise level (default: the dataset's δ)")
    s.add_argument("--out", type=Path, required=True)

    e = sub.add_parser("evaluate", help="error metrics of a reconstruction, as JSON")
    e.add_argument("--data", type=Path, required=True)
    e.add_argument("--recon", type=Path, required=True)
    e.add_argument("--out", type=Path, help="also write the JSON here (atomically)")

    a = sub.add_parser("audit", help="print the lineage of an artifact and verify every hash on the way")
    a.add_argument("path", type=Path)
    a.add_argument("--root", type=Path, default=Path("."),
                   help="directory relative input paths are resolved against (default: current)")
    a.add_argument("--row", action="append", metavar="KEY=VALUE",
                   help="audit only the table rows with this column value (repeatable; all must "
                        "match), e.g. --row run=nn --row n=6 --row delta=1e-3 --row seed=1")

    _add_manifest_parser(sub)
    return parser


# ---- manifest ------------------------------------------------------------------------------
def _add_manifest_parser(sub) -> None:
    from discrete_eit.experiment import paths

    p = sub.add_parser("manifest", help=f"write or verify the run manifest {paths.MANIFEST}")
    actions = p.add_subparsers(dest="manifest_command", required=True)
    w = actions.add_parser("write", help="write the run manifest of the files under data/ and results/")
    w.add_argument("--config", action="append", type=Path, metavar="FILE", default=None,
                   help="config file(s) the run read, in merge order (repeatable; default: "
                        "config/config.yaml)")
    w.add_argument("--out", type=Path, default=Path(paths.MANIFEST), help=f"default: {paths.MANIFEST}")
    v = actions.add_parser("verify", help="re-hash every listed output; exit 1 at the first mismatch")
    v.add_argument("manifest", type=Path, nargs="?", default=Path(paths.MANIFEST),
                   help=f"default: {paths.MANIFEST}")
    m = actions.add_parser("metrics", help="every cell's median error (JSON) from the error table")
    m.add_argument("--errors", type=Path, default=Path(paths.table_paths("errors")[0]))
    m.add_argument("--out", type=Path, default=Path(paths.METRICS_FULL))


def cmd_manifest(args: argparse.Namespace) -> int:
    from discrete_eit.artifacts.manifest import ManifestError, verify_manifest, write_manifest
    from discrete_eit.experiment import paths

    try:
        if args.manifest_command == "write":
            record = write_manifest(args.out, args.config or ["config/config.yaml"], paths.OUTPUT_ROOTS,
                                    paths.DIAGNOSTIC_DIRS)
            print(f"wrote {args.out}: {record['n_outputs']} outputs, commit "
                  f"{(record['git']['commit'] or 'none')[:10]}")
        elif args.manifest_command == "verify":
            count = verify_manifest(args.manifest)
            print(f"manifest verified: {count} output(s) match {args.manifest}")
        else:
            from discrete_eit.experiment.dvc_outputs import write_cell_metrics

            write_cell_metrics(args.errors, args.out)
            print(f"wrote {args.out}")
    except ManifestError as exc:
        print(f"discrete-eit: error: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s",
                        stream=sys.stderr)
    try:
        if args.command == "generate":
            return cmd_generate(args)
        if args.command == "reconstruct":
            opts = {k[4:]: v for k, v in vars(args).items() if k.startswith("opt_")}
            return cmd_reconstruct(args, opts)
        if args.command == "sensitivity":
            return cmd_sensitivity(args)
        if args.command == "evaluate":
            return cmd_evaluate(args)
        if args.command == "audit":
            return cmd_audit(args)
        if args.command == "manifest":
            return cmd_manifest(args)
    except (DataError, ValueError, OSError) as exc:
        print(f"discrete-eit: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("discrete-eit: interrupted; files are written atomically, none was left half-written",
              file=sys.stderr)
        return 130
    except Exception as exc:  # last resort: still one line, with the type to aid a bug report
        log.debug("unexpected error", exc_info=True)
        print(f"discrete-eit: error: {type(exc).__name__}: {exc} (rerun with --log-level DEBUG for the "
              "traceback)", file=sys.stderr)
        return 1
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
