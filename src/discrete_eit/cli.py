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
import os
import signal
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
    split_matrix_spec,
    write_artifact,
)
from discrete_eit.artifacts.sidecar import recording_code, sidecar_path, to_json
from discrete_eit.methods.registry import (
    AUTO_DELTA,
    OptionError,
    load_methods,
    noise_request,
    reconstruct_many,
)
from discrete_eit.problem.boundary_layouts import BOUNDARY_LAYOUTS
from discrete_eit.problem.datasets import DataError, check_dtn_map, generate_dataset
from discrete_eit.problem.forward import check_gamma, check_lattice_size
from discrete_eit.problem.lattice import Lattice
from discrete_eit.problem.noise import DEFAULT_NOISE_MODEL, NOISE_MODELS
from discrete_eit.problem.noise_estimate import NOISE_ESTIMATORS, estimate_dataset_noise
from discrete_eit.problem.partial import PARTIAL_SETS
from discrete_eit.problem.profiles import PROFILES, conductivity_profile
from discrete_eit.problem.sensitivity import predicted_std

from . import __version__

log = logging.getLogger("discrete_eit")


INT64_MAX = 2 ** 63 - 1
"""The largest seed: a dataset file stores its seeds as int64."""
MAX_DELTA = 1.0
"""The largest noise level δ a flag accepts (noise as large as the data; see docs/bad_input.md)."""


def _int_at_least(minimum: int, maximum: int | None = None):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be an integer <= {maximum} (2**63 - 1, an int64 as "
                                             f"files store it), got {text!r}")
        return value
    return parse


_positive_int = _int_at_least(1)
_seed = _int_at_least(0, INT64_MAX)


def _lattice_size(text: str) -> int:
    """``--n``: an integer >= 1 within the size limit (checked before anything is allocated)."""
    n = _positive_int(text)
    try:
        check_lattice_size(n)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return n


def _check_files(inputs: list[tuple[str, Path]], outputs: list[tuple[str, Path, str]]) -> None:
    """Refuse, before any work, outputs that would overwrite an input, repeat, or misname their format.

    ``inputs``: ``(flag, path)``; ``outputs``: ``(flag, path, suffix)`` where ``suffix`` is what
    the file is written as (``.npz``, ``.json``). Every file counts with its sidecar ``FILE.json``
    (an output ``d.npz.json`` would replace the provenance of the input ``d.npz``). Paths are
    compared resolved (``./d.npz`` is ``d.npz``), so a symlink to an input counts as that input.
    """
    def keys(path: Path) -> tuple[Path, Path]:
        try:
            return path.resolve(), sidecar_path(path).resolve()
        except (RuntimeError, OSError):  # Python 3.11 raises RuntimeError for a symlink loop
            raise DataError(f"{path}: cannot be read (too many levels of symbolic links: a loop)") from None

    read = {k: (flag, p) for flag, p in inputs for k in keys(p)}
    seen: set[Path] = set()
    for flag, path, suffix in outputs:
        if path.suffix != suffix:
            raise DataError(f"{flag} {path}: must end in {suffix} (the file is written as {suffix})")
        _check_output_place(flag, path)
        for k in keys(path):
            if k in read:
                in_flag, in_path = read[k]
                raise DataError(f"{flag} {path}: is also the input {in_flag} {in_path} (or its sidecar); "
                                "refusing to overwrite an input")
        if keys(path)[0] in seen:
            raise DataError(f"{flag} {path}: given twice; every result needs its own file")
        seen.update(keys(path))


def _check_output_place(flag: str, path: Path) -> None:
    """Refuse, before any work, an output that cannot be written where it is named: a name too long
    for its sidecar, a folder that is a file or not writable, an existing directory of that name.

    Only looks (``stat``, ``access``); a missing folder is created when the file is written.
    """
    folder = path.parent
    while not folder.exists() and folder != folder.parent:  # the nearest existing ancestor
        folder = folder.parent
    if not folder.is_dir():
        raise DataError(f"{flag} {path}: {folder} is not a directory")
    try:
        name_max = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    size = len(os.fsencode(path.name + ".json"))
    if size > name_max:
        raise DataError(f"{flag} {path}: name too long: its sidecar {path.name[:20]}….json would have "
                        f"{size} bytes, the file system allows {name_max}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DataError(f"{flag} {path}: cannot write in {folder} (permission denied)")
    if path.is_dir():
        raise DataError(f"{flag} {path}: is a directory")


def _not_an_npz(flag: str, path: Path) -> None:
    """A matrix/vector flag given an ``.npz`` archive: say which flag takes it."""
    if path.suffix == ".npz":
        raise DataError(f"{flag} {path}: is an .npz archive; a dataset .npz goes with --data "
                        f"({flag} takes a single array)")


def _noise_level(text: str) -> float:
    """A noise level δ: a finite number in [0, :data:`MAX_DELTA`]."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not np.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    if value > MAX_DELTA:
        raise argparse.ArgumentTypeError(f"must be a noise level <= {MAX_DELTA:g} (noise as large as the "
                                         f"data), got {text!r}")
    return value


def _noise_level_or_auto(text: str) -> float | str:
    """``--delta`` of ``sensitivity``: a noise level (:func:`_noise_level`) or ``auto`` (estimate it)."""
    if text == AUTO_DELTA:
        return text
    try:
        return _noise_level(text)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (or auto: estimated from the data)") from None


def _float_or_auto(text: str) -> float | str:
    """``--delta`` of ``reconstruct``: a number (the method checks its range) or ``auto``."""
    if text == AUTO_DELTA:
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number or 'auto', got {text!r}") from None


def _check_noise_model_flag(args: argparse.Namespace, delta) -> None:
    """``--noise-model`` only where it means something: with ``--delta auto`` (or error bars)."""
    if args.noise_model is None:
        return
    if delta != AUTO_DELTA and not getattr(args, "error_bars", True):
        raise DataError("--noise-model names the noise model assumed by --delta auto or --error-bars; "
                        "give one of them (or drop --noise-model)")
    if delta == AUTO_DELTA and args.noise_model not in NOISE_ESTIMATORS:
        raise DataError(f"--noise-model {args.noise_model}: no δ estimator for this model (models with one: "
                        f"{', '.join(sorted(NOISE_ESTIMATORS))}); give --delta as a number")


def _report_estimate(command: str, info: dict, source, several: bool) -> None:
    """The one stderr line saying which δ was estimated (the sidecar keeps it too)."""
    where = f" ({source})" if several else ""
    print(f"{command}: δ estimated from the data: {info['delta_estimate']:.2e} (model {info['delta_model']})"
          f"{where}", file=sys.stderr)


# ---- generate ------------------------------------------------------------------------------
def cmd_generate(args: argparse.Namespace) -> int:
    _check_files([("--gamma", args.gamma)] if args.gamma is not None else [], [("--out", args.out, ".npz")])
    start = time.perf_counter()
    lattice = Lattice(args.n)
    inputs = []
    if args.gamma is not None:
        _not_an_npz("--gamma", args.gamma)
        gamma = load_gamma(args.gamma, lattice.n_edges)
        inputs.append(split_matrix_spec(args.gamma)[0])
        profile = "user"
    else:
        gamma = conductivity_profile(args.profile, lattice, args.profile_seed)
        profile = args.profile
    dataset = generate_dataset(gamma, args.n, args.delta, args.seed, args.partial_set, args.symmetric_noise,
                               args.noise_model)
    dataset = dataclasses.replace(dataset, profile=profile,
                                  profile_seed=None if args.gamma is not None else args.profile_seed)
    # The sidecar describes the file (its typed fields), it never adds to them.
    params = {"n": args.n, **{k: getattr(dataset, k) for k in DATASET_FIELDS}}
    save_dataset(args.out, dataset, params, inputs, time.perf_counter() - start)
    log.info("wrote %s (n=%d, noise_model=%s, delta=%g, seed=%d, partial_set=%s, %d measured entries)",
             args.out, args.n, args.noise_model, args.delta, args.seed, args.partial_set,
             int(dataset.mask.sum()))
    return 0


# ---- reconstruct ---------------------------------------------------------------------------
def cmd_reconstruct(args: argparse.Namespace, method_options: dict) -> int:
    sources = args.data if args.data else [args.dtn]
    flag = "--data" if args.data else "--dtn"
    if len(args.out) != len(sources):
        raise DataError(f"got {len(sources)} input file(s) but {len(args.out)} --out file(s)")
    if args.data and args.layout is not None:
        raise DataError("--layout applies to --dtn only (a dataset .npz is in our boundary order)")
    layout = args.layout or "ours"
    files = sources if args.data else [Path(split_matrix_spec(args.dtn)[0])]  # FILE.mat:NAME -> FILE.mat
    if args.dtn:
        _not_an_npz("--dtn", files[0])
    _check_files([(flag, Path(p)) for p in files], [("--out", p, ".npz") for p in args.out])
    method = load_methods()[args.method]
    try:  # options first: a bad value must not wait for data loading (or the method's imports)
        request = noise_request(args.method, method_options, args.error_bars, args.noise_model)
        options = method.resolve_options(request.options)
    except OptionError as exc:
        raise DataError(exc.as_flag()) from None
    _check_noise_model_flag(args, request.delta)
    if args.dtn and args.error_bars and request.delta is None:
        raise DataError("--error-bars: a --dtn matrix carries no noise level; give --delta X or --delta auto")
    datasets = [load_dataset(p) if args.data else load_dtn_matrix(p, layout) for p in sources]
    for d in datasets:  # a DtN map within what noise allows (docs/bad_input.md), else no method runs
        check_dtn_map(d, None if request.delta == AUTO_DELTA else request.delta)
    # a batched method trains all datasets in one call (each is charged its share of the time);
    # any other method runs them one after another, each timed on its own
    groups = ([(sources, datasets)] if method.batched
              else [([s], [d]) for s, d in zip(sources, datasets, strict=True)])
    results, walls = [], []
    for srcs, group in groups:
        start = time.perf_counter()
        try:
            results += reconstruct_many(args.method, group, error_bars=args.error_bars,
                                        noise_model=args.noise_model, **method_options)
        except ValueError as exc:  # name the input: e.g. a partial set CM cannot complete
            named = ", ".join(map(str, srcs))
            raise DataError(str(exc) if str(exc).startswith(named + ":") else f"{named}: {exc}") from None
        walls += [(time.perf_counter() - start) / len(group)] * len(group)
    for src, rec in zip(sources, results, strict=True):  # all checked before any is written
        bad = int(np.sum(~np.isfinite(rec.gamma)))
        if bad:
            raise DataError(f"{src}: {args.method} produced a non-finite γ ({bad} of {np.size(rec.gamma)} "
                            "edges); nothing written")
    batch_size = len(sources) if method.batched else 1
    for src, rec in zip(sources, results, strict=True):
        if "delta_estimate" in rec.info:
            _report_estimate("reconstruct", rec.info, src, len(sources) > 1)
    for src, file, out, rec, wall in zip(sources, files, args.out, results, walls, strict=True):
        gamma = np.asarray(rec.gamma, dtype=np.float64)
        arrays = {"gamma": gamma, **rec.arrays}
        params = {"method": args.method, "options": options, "data": str(src)}
        if args.dtn:
            params["layout"] = layout
        if request.delta is not None and "delta" not in options:  # auto, or the error bars' own δ
            params["delta"] = request.delta
        if args.noise_model is not None:
            params["noise_model"] = args.noise_model
        if args.error_bars:
            params["error_bars"] = True
        write_artifact(out, arrays, "reconstruction", params, [file], wall,
                       extra={"info": rec.info, "batch_size": batch_size})
        log.info("wrote %s (%s, %.2f s)", out, args.method, wall)
    return 0


# ---- sensitivity ---------------------------------------------------------------------------
def cmd_sensitivity(args: argparse.Namespace) -> int:
    _check_files([("--data", args.data)] + ([("--recon", args.recon)] if args.recon else []),
                 [("--out", args.out, ".npz")])
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
    _check_noise_model_flag(args, args.delta)
    model = args.noise_model or dataset.noise_model or DEFAULT_NOISE_MODEL
    estimate = estimate_dataset_noise(dataset, model) if args.delta == AUTO_DELTA else None
    result = predicted_std(dataset.lattice, gamma, dataset.mask, model)
    if estimate is not None:
        delta = estimate.delta
    else:
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
    params = {"delta": delta, "linearised_at": "reconstruction" if args.recon else "gamma_true"}
    if args.noise_model is not None or model != DEFAULT_NOISE_MODEL:
        params["noise_model"] = model
    if estimate is not None:
        summary.update(estimate.as_info())
        params["delta_source"] = "estimate"
        _report_estimate("sensitivity", summary, args.data, False)
    write_artifact(args.out, arrays, "sensitivity", params, inputs,
                   time.perf_counter() - start, extra={"info": summary})
    print(json.dumps(summary))
    return 0


# ---- evaluate ------------------------------------------------------------------------------
def cmd_evaluate(args: argparse.Namespace) -> int:
    from discrete_eit.artifacts.evaluation import evaluate_reconstruction

    data, flag = (args.data, "--data") if args.data else (args.dtn, "--dtn")
    inputs = [(flag, split_matrix_spec(data)[0]), ("--recon", args.recon)]
    if args.dtn:
        _not_an_npz("--dtn", inputs[0][1])
    if args.gamma_true is not None:
        _not_an_npz("--gamma-true", split_matrix_spec(args.gamma_true)[0])
        inputs.append(("--gamma-true", split_matrix_spec(args.gamma_true)[0]))
    _check_files(inputs, [("--out", args.out, ".json")] if args.out else [])
    metrics = evaluate_reconstruction(data, args.recon, args.out, args.gamma_true, args.layout)
    sys.stdout.write(to_json(metrics))
    return 0


# ---- audit ---------------------------------------------------------------------------------
def cmd_audit(args: argparse.Namespace) -> int:
    from discrete_eit.artifacts.audit import audit
    from discrete_eit.experiment.tables import KEYS

    if args.row and len(args.path) > 1:
        raise DataError("--row selects rows of one table: give a single path with it")
    # several artifacts in one process (tools/pull-touch-audit.sh): the worst verdict is the exit
    # code — a failure (1) over staleness (3) over success (0)
    codes = [audit(path, args.root, args.row, shown=(*KEYS, "rel_l2", "status")) for path in args.path]
    return 1 if 1 in codes else max(codes)


# ---- parser --------------------------------------------------------------------------------
class _OneLineErrorParser(argparse.ArgumentParser):
    """Usage errors as a single line (the full usage is one ``--help`` away)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def shown_default(value) -> str:
    """How ``--help`` writes an option's default (floats as ``%g``; nothing given: ``none``)."""
    if value is None or value == "":
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _option_help(uses: list) -> str:
    """``--help`` of one method-option flag from its declarations ``[(method, Option), ...]``.

    Each declaration contributes its help, default and choices; methods that declare the option
    alike share one text. An option without a default (None) says in its help what that means
    ("default: the dataset's"); that help is kept as it is.
    """
    groups: dict[tuple, list[str]] = {}
    for method, o in uses:
        groups.setdefault((o.help, shown_default(o.default), o.choices), []).append(method)
    texts = []
    for (text, default, choices), methods in groups.items():
        notes = [] if default == "none" and "default" in text else [f"default: {default}"]
        if choices:
            notes.append(f"choices: {', '.join(map(str, choices))}")
        texts.append((text, notes, methods))
    if len(texts) == 1:
        text, notes, methods = texts[0]
        out = f"{text} ({'; '.join([*notes, 'methods: ' + ', '.join(methods)])})"
    else:
        out = "; ".join(f"{', '.join(m)}: {t}" + (f" ({'; '.join(n)})" if n else "") for t, n, m in texts)
    return out.replace("%", "%%")  # argparse %-formats help


def _add_method_options(r: argparse.ArgumentParser, methods: dict) -> None:
    """One flag per option name across all methods; ``Method.resolve_options`` rejects flags that
    do not apply to the chosen method. The first declaration's type parses the value."""
    declared: dict[str, list] = {}
    for m in methods.values():
        for o in m.options:
            declared.setdefault(o.name, []).append((m.name, o))
    for name, uses in declared.items():
        text = _option_help(uses)
        kind = uses[0][1].type
        if name == "delta":  # δ can be estimated from the data, for every method (registry.noise_request)
            kind = _float_or_auto
            text = ("noise level δ, or auto: estimated from the data (--noise-model); for a method "
                    "without this option, the δ of --error-bars. " + text)
        r.add_argument("--" + name.replace("_", "-"), dest="opt_" + name, type=kind,
                       metavar=name.upper(), default=argparse.SUPPRESS, help=text)


def build_parser(methods: bool = True) -> argparse.ArgumentParser:
    """The CLI's parser. ``methods=False`` leaves out the method options of ``reconstruct`` (and
    the import of every method module they need): for the other commands, which start faster."""
    parser = _OneLineErrorParser(prog="discrete-eit", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="verbosity of the log on stderr (default: %(default)s)")
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="generate an exact or noisy DtN dataset")
    g.add_argument("--n", type=_lattice_size, required=True, help="lattice size n (n×n interior nodes)")
    src = g.add_mutually_exclusive_group()
    src.add_argument("--profile", default="wave", choices=sorted(PROFILES),
                     help="conductivity profile γ (MATH.md §3) (default: %(default)s)")
    src.add_argument("--gamma", type=Path, help="user conductivity instead of --profile (.npy, .csv or "
                     ".mat (FILE.mat:NAME), 2n(n+1) values, MATH.md edge order) (default: none, --profile "
                     "is used)")
    g.add_argument("--profile-seed", type=_seed, default=0,
                   help="seed of random profiles (default: %(default)s)")
    g.add_argument("--delta", "--noise", type=_noise_level, default=0.0,
                   help="noise level δ, as --noise-model defines it (default: %(default)s; --noise is the "
                        "old spelling)")
    g.add_argument("--seed", type=_seed, default=0, help="noise seed (default: %(default)s)")
    g.add_argument("--partial-set", "--partial", default="full", choices=sorted(PARTIAL_SETS),
                   help="partial-data set: which entries of Λ are measured (default: %(default)s; "
                        "--partial is the old spelling)")
    g.add_argument("--noise-model", default=DEFAULT_NOISE_MODEL, choices=sorted(NOISE_MODELS),
                   help="noise model of Λ^δ (docs/MATH.md §3) (default: %(default)s)")
    g.add_argument("--symmetric-noise", action="store_true",
                   help="symmetrise ξ so Λ^δ stays symmetric (default: off)")
    g.add_argument("--out", type=Path, required=True, help="dataset .npz to write (and its .json sidecar)")

    methods = load_methods() if methods else {}
    r = sub.add_parser("reconstruct", help="reconstruct γ with a method",
                       description="Method options: " + "; ".join(
                           f"{m.name}: " + ", ".join("--" + o.name.replace("_", "-") for o in m.options)
                           for m in methods.values()))
    r.add_argument("--method", required=True, choices=sorted(methods),
                   help="reconstruction method; its options are listed below")
    data = r.add_mutually_exclusive_group(required=True)
    data.add_argument("--data", type=Path, nargs="+", help="dataset .npz file(s); several are batched")
    data.add_argument("--dtn", type=Path, metavar="FILE[:NAME]",
                      help="a measured 4n×4n DtN matrix: .npy, .csv (comma separated; empty or NaN = "
                           "unmeasured), .mat (its only 4n×4n variable) or FILE.mat:NAME")
    r.add_argument("--layout", choices=sorted(BOUNDARY_LAYOUTS), default=None,
                   help="boundary order of the --dtn matrix: ours (N1..Nn, E1..En, Sn..S1, Wn..W1) or "
                        "authors (E1..En, Sn..S1, Wn..W1, N1..Nn) (default: ours)")
    r.add_argument("--out", type=Path, nargs="+", required=True,
                   help="one reconstruction .npz per input (and its .json sidecar)")
    r.add_argument("--error-bars", action="store_true",
                   help="also store gamma_std, the absolute 1σ of every edge linearised at the "
                        "reconstruction (MATH.md §7) for the δ in use: the dataset's, --delta X or --delta "
                        "auto (any method; default: off)")
    r.add_argument("--noise-model", default=None, choices=sorted(NOISE_MODELS),
                   help="noise model assumed by --delta auto and --error-bars (default: the dataset's, "
                        "else relative)")
    _add_method_options(r, methods)

    s = sub.add_parser("sensitivity", help="predicted pointwise error (linearised) for a dataset's index set")
    s.add_argument("--data", type=Path, required=True, help="dataset .npz (its mask is the index set)")
    s.add_argument("--recon", type=Path, help="reconstruction .npz to linearise at (default: none, "
                   "the dataset's gamma_true)")
    s.add_argument("--delta", type=_noise_level_or_auto, help="noise level, or auto: estimated from the "
                   "data (default: the dataset's δ)")
    s.add_argument("--noise-model", default=None, choices=sorted(NOISE_MODELS),
                   help="noise model of the data: the covariance of the prediction and the estimator of "
                        "--delta auto (default: the dataset's, else relative)")
    s.add_argument("--out", type=Path, required=True, help="sensitivity .npz to write (and its sidecar)")

    e = sub.add_parser("evaluate", help="error metrics of a reconstruction, as JSON")
    source = e.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="dataset .npz (with gamma_true, or give --gamma-true)")
    source.add_argument("--dtn", type=Path, metavar="FILE[:NAME]",
                        help="the measured DtN matrix the reconstruction came from (as reconstruct --dtn)")
    e.add_argument("--layout", choices=sorted(BOUNDARY_LAYOUTS), default=None,
                   help="boundary order of the --dtn matrix (default: ours)")
    e.add_argument("--gamma-true", type=Path, metavar="FILE[:NAME]",
                   help="the true conductivity: .npy, .csv or .mat (FILE.mat:NAME), MATLAB edge order as "
                        "generate --gamma (default: none, the dataset's gamma_true; without any truth only "
                        "dtn_residual is computed)")
    e.add_argument("--recon", type=Path, required=True, help="reconstruction .npz to score")
    e.add_argument("--out", type=Path, help="also write the JSON here, atomically (default: none, "
                   "stdout only)")

    a = sub.add_parser("audit", help="print the lineage of an artifact and verify every hash on the way")
    a.add_argument("path", type=Path, nargs="+",
                   help="artifact(s) to audit (datasets, reconstructions, tables or figures)")
    a.add_argument("--root", type=Path, default=Path("."),
                   help="directory relative input paths are resolved against (default: %(default)s)")
    a.add_argument("--row", action="append", metavar="KEY=VALUE",
                   help="audit only the table rows with this column value (repeatable; all must "
                        "match; default: none, every row), e.g. --row run=nn --row n=6 --row delta=1e-3")

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
    w.add_argument("--out", type=Path, default=Path(paths.MANIFEST),
                   help="manifest to write (default: %(default)s)")
    v = actions.add_parser("verify", help="re-hash every listed output; exit 1 at the first mismatch")
    v.add_argument("manifest", type=Path, nargs="?", default=Path(paths.MANIFEST),
                   help="manifest to verify (default: %(default)s)")
    m = actions.add_parser("metrics", help="every cell's median error (JSON) from the error table")
    m.add_argument("--errors", type=Path, default=Path(paths.table_paths("errors")[0]),
                   help="error table to summarise (default: %(default)s)")
    m.add_argument("--out", type=Path, default=Path(paths.METRICS_FULL),
                   help="metrics JSON to write (default: %(default)s)")


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


def _command_code(args: argparse.Namespace) -> dict | None:
    """Fingerprint of the code a computing command runs (recorded in the sidecars it writes)."""
    from discrete_eit.artifacts.fingerprint import COMMAND_ROOTS, command_fingerprint

    if args.command not in COMMAND_ROOTS:
        return None
    module = load_methods()[args.method].module if args.command == "reconstruct" else None
    return command_fingerprint(args.command, module)


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
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
    parser.error(f"unknown command {args.command}")
    return 2


def _needs_methods(argv: list[str]) -> bool:
    """Whether the command is ``reconstruct``: only its parser needs every method's options.

    The command is the first word that is not an option, or the second after ``--log-level L``.
    """
    words = [a for a in argv if not a.startswith("-")]
    return "reconstruct" in words[:2]


def one_line(text: str) -> str:
    """``text`` with control characters (a newline in a file name) and undecodable bytes of a name
    escaped, so that an error stays one printable line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class Interrupted(KeyboardInterrupt):
    """SIGTERM (or SIGHUP) as an exception, like SIGINT's KeyboardInterrupt: temporary files are
    removed on the way out (``atomic_write_files``) instead of the process dying mid-write."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


def _raise_interrupted(signum, frame):
    raise Interrupted(signum)


def _catching_signals() -> dict:
    """Install :func:`_raise_interrupted` for SIGTERM and SIGHUP; returns the previous handlers
    (none outside the main thread, where Python cannot set handlers)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, _raise_interrupted) for sig in (signal.SIGTERM, signal.SIGHUP)}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(methods=_needs_methods(argv))
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s",
                        stream=sys.stderr)
    previous = _catching_signals()
    try:
        with recording_code(_command_code(args)):
            return _dispatch(parser, args)
    except (DataError, ValueError, OSError) as exc:
        print(f"discrete-eit: error: {one_line(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        print(f"discrete-eit: interrupted ({signal.Signals(signum).name}); files are written atomically, "
              "none was left half-written", file=sys.stderr)
        return 128 + signum
    except Exception as exc:  # last resort: still one line, with the type to aid a bug report
        log.debug("unexpected error", exc_info=True)
        text = one_line(str(exc))
        print(f"discrete-eit: error: {type(exc).__name__}: {text} (rerun with --log-level DEBUG for the "
              "traceback)", file=sys.stderr)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
