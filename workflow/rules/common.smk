# Grid expansion, path layout and configuration checks shared by every rule file.
#
# Path layout (one dataset per (profile, n, set, δ, seed), shared by all runs):
#   data/dtn/{profile}/n{n}/{pset}/d{delta}_s{seed}.npz                 (+ .npz.json sidecar)
#   results/recon/{run}/{profile}/n{n}/{pset}/d{delta}_s{seed}.npz  (+ sidecar)
#   results/eval/{run}/{profile}/n{n}/{pset}/d{delta}_s{seed}.json
#   results/sensitivity/{profile}/n{n}/{pset}.npz
# δ is written with Python's "g" format (0, 1e-05, 0.001, ...).

import os
import re
import shutil
import sys
from collections import namedtuple
from pathlib import Path

from snakemake.exceptions import WorkflowError

from discrete_eit.problem.completion import is_completable
from discrete_eit.methods.registry import load_methods
from discrete_eit.problem.partial import PARTIAL_SETS, partial_mask
from discrete_eit.problem.profiles import PROFILES

envvars:
    "PATH",


# Jobs call the package CLI `discrete-eit`: put the bin directory of the interpreter that runs
# Snakemake (the project's venv) first on PATH, so that it is found without activating the venv.
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
if shutil.which("discrete-eit") is None:
    raise WorkflowError("the `discrete-eit` command was not found; install the package "
                        "(pip install -e .) into the environment that runs Snakemake")

Cell = namedtuple("Cell", "study run method profile n pset delta seed")

STUDY_ORDER = ("sizes", "noise", "partial", "prior")


def fmt_delta(delta):
    """Canonical δ path component: 0, 1e-05, 0.001, ..."""
    return f"{float(delta):g}"


def data_path(profile, n, pset, delta, seed):
    return f"data/dtn/{profile}/n{n}/{pset}/d{fmt_delta(delta)}_s{seed}.npz"


def recon_path(run, profile, n, pset, delta, seed):
    return f"results/recon/{run}/{profile}/n{n}/{pset}/d{fmt_delta(delta)}_s{seed}.npz"


def eval_path(run, profile, n, pset, delta, seed):
    return f"results/eval/{run}/{profile}/n{n}/{pset}/d{fmt_delta(delta)}_s{seed}.json"


def sens_path(profile, n, pset):
    return f"results/sensitivity/{profile}/n{n}/{pset}.npz"


def cell_data(c):
    return data_path(c.profile, c.n, c.pset, c.delta, c.seed)


def cell_recon(c):
    return recon_path(c.run, c.profile, c.n, c.pset, c.delta, c.seed)


def cell_meta(c):
    """The provenance sidecar of a cell's reconstruction."""
    return f"{cell_recon(c)}.json"


def cell_eval(c):
    return eval_path(c.run, c.profile, c.n, c.pset, c.delta, c.seed)


def cell_dict(c):
    """A cell as a plain dict (rule params / table keys)."""
    return {"study": c.study, "run": c.run, "method": c.method, "profile": c.profile, "n": c.n,
            "set": c.pset, "delta": c.delta, "seed": c.seed}


def config_error(key, message):
    """Stop before any job, naming the offending configuration key."""
    raise WorkflowError(f"invalid configuration: {key}: {message}")


def schema_error(exc):
    """Snakemake's schema-validation error as one line naming the offending key."""
    import jsonschema

    err = exc.__context__  # Snakemake wraps the jsonschema error into a message string
    if not isinstance(err, jsonschema.ValidationError):
        return exc
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path).lstrip(".")
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        if extra:
            key = ".".join(filter(None, [key, extra[0]]))
            return WorkflowError(f"invalid configuration: {key}: unknown key (allowed: "
                                 f"{', '.join(sorted(err.schema.get('properties', {})))})")
    return WorkflowError(f"invalid configuration: {key or '<top level>'}: {err.message}")


def check_registries(cfg):
    """Check configured names against the package registries (the schema only checks their form)."""
    methods = load_methods()
    for name, spec in cfg["runs"].items():
        key = f"runs.{name}"
        if spec["method"] not in methods:
            config_error(f"{key}.method", f"unknown method {spec['method']!r}; registered: "
                         f"{', '.join(sorted(methods))}")
        try:
            methods[spec["method"]].resolve_options(spec.get("options", {}))
        except ValueError as exc:
            config_error(f"{key}.options", str(exc))
    mc = cfg["monte_carlo"]
    if mc["method"] not in methods:
        config_error("monte_carlo.method", f"unknown method {mc['method']!r}")
    try:
        methods[mc["method"]].resolve_options(mc["options"])
    except ValueError as exc:
        config_error("monte_carlo.options", str(exc))
    studies = {**{f"studies.{k}": v for k, v in cfg["studies"].items()},
               **{f"extra_studies.{k}": v for k, v in cfg.get("extra_studies", {}).items()}}
    for key, study in studies.items():
        for run in study["runs"]:
            if run not in cfg["runs"]:
                config_error(f"{key}.runs", f"unknown run {run!r}; defined runs: {', '.join(cfg['runs'])}")
        for i, pset in enumerate(study["sets"]):
            if pset not in PARTIAL_SETS:
                config_error(f"{key}.sets[{i}]", f"unknown partial set {pset!r}; registered: "
                             f"{', '.join(sorted(PARTIAL_SETS))}")
        for i, profile in enumerate(study["profiles"]):
            if profile not in PROFILES:
                config_error(f"{key}.profiles[{i}]", f"unknown profile {profile!r}; registered: "
                             f"{', '.join(sorted(PROFILES))}")


def method_applies(method, pset, n):
    """Whether a method can run on a partial set (CM needs a completable mask)."""
    if method == "cm":
        return is_completable(partial_mask(pset, n))
    return True


def expand_cells(cfg):
    """All cells of all studies, deduplicated; a cell belongs to the first study that lists it.

    Returns (cells, not_applicable): cells a method cannot handle (CM on a set that does not
    determine Λ) are listed separately and appear in the error table as "not_applicable".
    """
    studies = [(k, cfg["studies"][k]) for k in STUDY_ORDER]
    studies += sorted(cfg.get("extra_studies", {}).items())
    seen, cells, skipped = set(), [], []
    for name, st in studies:
        for profile in st["profiles"]:
            for n in st["n"]:
                for pset in st["sets"]:
                    for delta in st["delta"]:
                        for seed in ([0] if delta == 0 else st["seeds"]):
                            for run in st["runs"]:
                                key = (run, profile, n, pset, fmt_delta(delta), seed)
                                if key in seen:
                                    continue
                                seen.add(key)
                                method = cfg["runs"][run]["method"]
                                c = Cell(name, run, method, profile, n, pset, float(delta), seed)
                                (cells if method_applies(method, pset, n) else skipped).append(c)
    return cells, skipped


def study_has(study, run, profile, n, pset, delta, seed=0):
    return (run in study["runs"] and profile in study["profiles"] and n in study["n"]
            and pset in study["sets"] and any(float(d) == float(delta) for d in study["delta"])
            and (float(delta) == 0 or seed in study["seeds"]))


def check_figure_cells(cfg):
    """Every cell a figure shows must be in its study (else stop, naming the key)."""
    f, st = cfg["figures"], cfg["studies"]
    prof, seed, wn = f["profile"], f["seed"], f["working_n"]

    def need(key, study, run, n, pset, delta):
        if run not in cfg["runs"]:
            config_error(key, f"unknown run {run!r}")
        if not study_has(st[study], run, prof, n, pset, delta, seed):
            config_error(key, f"figure needs run {run!r}, profile {prof!r}, n = {n}, set {pset!r}, "
                         f"δ = {delta:g}, seed {seed}, which studies.{study} does not contain")

    nn, cm = f["nn_run"], f["cm_run"]
    for delta in f["noise_deltas"]:
        need("figures.noise_deltas", "noise", nn, wn, "full", delta)
    for delta in f["compare_deltas"]:
        need("figures.compare_deltas", "noise", nn, wn, "full", delta)
        need("figures.compare_deltas", "noise", cm, wn, "full", delta)
        for pset in ("last3n", "sigma0", "last2n"):
            need("figures.compare_deltas", "partial", nn, wn, pset, delta)
        need("figures.compare_deltas", "partial", nn, wn, "full", delta)
        for pset in f["further_sets"]:
            need("figures.further_sets", "partial", nn, wn, pset, delta)
            need("figures.further_sets", "partial", cm, wn, pset, delta)
    for pset in st["partial"]["sets"]:
        need("figures.small_delta", "partial", nn, wn, pset, f["small_delta"])
    for delta in st["prior"]["delta"]:
        need("figures.fixed_run", "prior", f["fixed_run"], wn, "full", delta)
        need("figures.nn_run", "prior", nn, wn, "full", delta)
    if cfg["runs"][cm]["method"] != "cm":
        config_error("figures.cm_run", f"run {cm!r} is not a Curtis–Morrow run")
    if cfg["runs"][nn]["method"] not in ("nn", "nn_fast"):
        config_error("figures.nn_run", f"run {nn!r} is not a run of the NN loss (nn or nn_fast)")


def run_regex(method):
    """Wildcard constraint matching exactly the runs of one method (or nothing)."""
    names = [re.escape(r) for r, spec in config["runs"].items() if spec["method"] == method]
    return "|".join(names) if names else "(?!)"


def cli_options(run):
    """`--name value` flags of a run's method options."""
    opts = config["runs"][run].get("options", {})
    parts = []
    for key, value in sorted(opts.items()):
        if isinstance(value, bool):
            value = str(value).lower()
        parts.append(f"--{key.replace('_', '-')} {value}")
    return " ".join(parts)


def run_resource(run, key):
    return config["runs"][run][key]


def fixed_edges(cfg):
    """Edge indices held fixed by the fixed-edge run (figures.fixed_run), from its options."""
    opts = cfg["runs"].get(cfg["figures"]["fixed_run"], {}).get("options", {})
    raw = opts.get("fixed_edges", "")
    return [int(t) for t in str(raw).replace(",", " ").split() if t.strip().isdigit()]


include: "gpu.smk"  # NN_GPU_RESOURCES: the NN training jobs' GPU request under SLURM
