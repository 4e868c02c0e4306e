"""The paper's claims checked against the workflow's tables (``results/claims.md``).

Every verdict is computed from the tables under ``results/tables/`` (never written by hand).
Each claim is a declaration (:class:`ClaimSpec`): where the paper makes it, what it says, the test
with its threshold (fixed in ``THRESHOLDS``, documented in the output) and an evidence function that
selects rows and returns the numbers and whether the test passed. :func:`evaluate_claims` evaluates
them all; a claim whose rows are missing from the configured grid is reported ``N/A`` with the
reason, so nothing fails silently.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from discrete_eit.problem.noise import DEFAULT_NOISE_MODEL

from .query import select

PASS, FAIL, NA = "PASS", "FAIL", "N/A"

THRESHOLDS = MappingProxyType({
    "loss_decades": 2.0,        # Fig 3a: exact-data loss falls by at least this many decades
    "loss_spike": 10.0,         # Fig 3a: and never climbs more than this factor above its running min
    "trend_rho": 0.7,           # Spearman ρ for "grows with n / δ"
    "exact_accurate": 0.05,     # Fig 4: NN rel. ℓ² error on exact data
    "comparable": 3.0,          # Fig 7: last3n / full error ratio within [1/x, x] ...
    "negligible": 1e-4,         # ... or both errors below this (invisible in the figures)
    "cm_exact": 1e-6,           # Fig 8: CM rel. ℓ² error on exact full data
    "cm_blowup": 10.0,          # Fig 8: CM centre error ≥ this × NN centre error on noisy data
    "amplification": 2.0,       # Fig 9: completion error / δ at least this (noise amplified)
    "fail": 1.0,                # Figs 10–11: a rel. ℓ² error above this (or an invalid γ̂) = "fails"
    "shape": 0.5,               # Figs 10–11: NN "keeps the overall shape" below this rel. ℓ² error
    "quarter": 10.0,            # Fig 11: last2n error ≥ this × full-data error
    "prior_centre": 2.0,        # Fig 6: centre error ratio fixed/free within [1/x, x] ("not much")
    "table1_factor": 3.0,       # Table 1: measured / predicted within [1/x, x]
    "table1_shape": 0.7,        # Table 1: correlation of error and predicted std ≥ this
    "mc": 0.2,                  # ours: Monte Carlo / predicted std per edge within 1 ± this (median)
    "parity": 2.0,              # ours, robustness: NN / ols mean error ratio within [1/x, x]
})
TREND = "Spearman ρ ≥ {trend_rho:g}, or strictly for two points"


@dataclass(frozen=True)
class Claim:
    """One evaluated claim: a row of ``results/claims.md``."""

    source: str       # "Fig 4", "Table 1", ...
    statement: str    # the paper's claim
    test: str         # the test applied, with its threshold
    evidence: str     # the numbers
    verdict: str      # PASS / FAIL / N/A


@dataclass(frozen=True)
class ClaimInputs:
    """What every claim is computed from.

    Attributes
    ----------
    tables : mapping of str to DataFrame
        The workflow's tables by name (``errors``, ``summary``, ``training``, ``regions``,
        ``completion``, ``table1``, ``sensitivity``, ``sensitivity_mc``, ``robustness``).
    figures : mapping
        The config's ``figures`` section (working size, profile, runs, δ and sets compared).
    fixed_edges : tuple of int
        Edge indices the fixed-edge run declares known (Fig 6).
    """

    tables: Mapping[str, pd.DataFrame]
    figures: Mapping[str, Any]
    fixed_edges: tuple[int, ...] = ()

    def rows(self, table: str, **selection) -> pd.DataFrame:
        """Rows of ``table`` matching ``selection`` (see :func:`.query.select`); rows of the paper's noise
        model only, unless ``selection`` names a ``noise_model`` (the paper's claims are about it)."""
        df = self.tables[table]
        if "noise_model" in df.columns:
            selection.setdefault("noise_model", DEFAULT_NOISE_MODEL)
        return select(df, **selection)

    def nn_rows(self, table: str, **selection) -> pd.DataFrame:
        """Rows of ``table`` from the configured NN run and profile matching ``selection``."""
        return self.rows(table, run=self.figures["nn_run"], profile=self.figures["profile"], **selection)

    def summary_row(self, run: str, pset: str, delta: float, allow_na: bool = False) -> pd.Series:
        """The summary row of ``run`` on ``pset`` at the working size, profile and ``delta``.

        Raises :class:`Missing` if there is none or, unless ``allow_na``, if the method did not
        apply to any seed (its ``N/A`` rows carry no error to compare).
        """
        s = self.rows("summary", run=run, set=pset, n=self.figures["working_n"], delta=delta,
                      profile=self.figures["profile"])
        row = _need(s, f"run {run} on {pset} at δ={delta:g}").iloc[0]
        if not allow_na and row.get("n_na", 0) == row["n_seeds"]:
            raise Missing(f"run {run} does not apply to {pset} (Λ not completable from it)")
        return row

    def noisy_deltas(self) -> list[float]:
        """The δ > 0 of ``figures.compare_deltas``, in config order."""
        noisy = [d for d in self.figures["compare_deltas"] if d > 0]
        if not noisy:
            raise Missing("figures.compare_deltas has no δ > 0")
        return noisy


Evidence = Callable[[ClaimInputs], tuple[str, bool]]


@dataclass(frozen=True)
class ClaimSpec:
    """A claim of the paper and how the tables test it.

    Attributes
    ----------
    source, statement : str
        Where the paper makes the claim and what it says.
    test : str
        The test, a template filled from ``THRESHOLDS`` and the ``figures`` section.
    evidence : callable
        ``evidence(inputs) -> (numbers, passed)``; raises :class:`Missing` (or ``KeyError``) when
        the configured grid lacks the rows it needs.
    """

    source: str
    statement: str
    test: str
    evidence: Evidence


def claim(source: str, statement: str, test: str) -> Callable[[Evidence], ClaimSpec]:
    """Declare the decorated evidence function as the test of a claim (it becomes a ClaimSpec)."""
    return lambda evidence: ClaimSpec(source, statement, test, evidence)


class Missing(Exception):
    """Rows a claim needs are not in the configured grid (the claim becomes N/A)."""


def _need(df: pd.DataFrame, what: str) -> pd.DataFrame:
    if df.empty:
        raise Missing(f"no rows for {what} in the configured grid")
    return df


def _g(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.3g}"


def increasing(x, y, rho: float) -> tuple[bool, str]:
    """Whether y grows with x: strictly for 2 points, Spearman ρ ≥ ``rho`` for ≥ 3.

    ρ is taken over the finite pairs and is NaN (not increasing) for fewer than 3 of them or a
    constant series, where scipy would warn and the trend is undefined.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    order = np.argsort(x)
    x, y = x[order], y[order]
    if x.size < 2:
        return False, "fewer than 2 points"
    if x.size == 2:
        return bool(y[1] > y[0]), "2 points"
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    r = math.nan
    if x.size >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0:
        r = float(spearmanr(x, y).statistic)
    return bool(np.isfinite(r) and r >= rho), f"Spearman ρ = {_g(r)}"


def _failed(row: pd.Series) -> bool:
    """The method failed: an invalid γ̂ for some seed, or a rel. ℓ² error above THRESHOLDS["fail"]."""
    return bool(row["n_ok"] < row["n_seeds"] or not row["rel_l2_median"] <= THRESHOLDS["fail"])


# ---- the claims, in the order of the paper ---------------------------------------------------
@claim("Fig 3a", "Exact data: the NN loss decreases steadily (only minor fluctuations).",
       "every n: loss falls ≥ {loss_decades:g} decades and never exceeds {loss_spike:g}× its running minimum")
def fig3a_steady(inputs: ClaimInputs) -> tuple[str, bool]:
    tr = _need(inputs.nn_rows("training", set="full", delta=0.0), "NN training on exact full data")
    ok = (tr["decades"] >= THRESHOLDS["loss_decades"]) & (tr["drop_ratio"] <= THRESHOLDS["loss_spike"])
    return "; ".join(f"n={r.n}: {_g(r.decades)} decades, max spike ×{_g(r.drop_ratio)}"
                     for r in tr.itertuples()), ok.all()


@claim("Fig 3a", "Larger n converges more slowly (higher final loss / larger error).",
       f"NN rel. ℓ² error on exact data increases with n ({TREND})")
def fig3a_slower(inputs: ClaimInputs) -> tuple[str, bool]:
    s = _need(inputs.nn_rows("summary", set="full", delta=0.0), "NN on exact full data").sort_values("n")
    tr = inputs.nn_rows("training", set="full", delta=0.0).sort_values("n")
    ok, how = increasing(s["n"], s["rel_l2_median"], THRESHOLDS["trend_rho"])
    return ("rel. ℓ²: " + ", ".join(f"n={r.n}: {_g(r.rel_l2_median)}" for r in s.itertuples())
            + "; final loss: " + ", ".join(f"n={r.n}: {_g(r.final_loss)}" for r in tr.itertuples())
            + f" ({how})"), ok


@claim("Fig 3b", "With noise the loss stagnates earlier and at a higher value.",
       f"n = {{working_n}}: median final loss increases with δ ({TREND}), and the iteration at which the "
       "loss reaches 2× its final value is smaller at the largest δ than at δ = 0")
def fig3b(inputs: ClaimInputs) -> tuple[str, bool]:
    wn = inputs.figures["working_n"]
    tr = _need(inputs.nn_rows("training", set="full", n=wn), f"NN training at n = {wn}")
    g = tr.groupby("delta").agg(final=("final_loss", "median"), plateau=("iter_to_plateau", "median"))
    g = g.reset_index().sort_values("delta")
    if len(g) < 2 or g["delta"].iloc[0] != 0:
        raise Missing("needs δ = 0 and at least one δ > 0 in the noise study")
    ok, how = increasing(g["delta"], g["final"], THRESHOLDS["trend_rho"])
    earlier = g["plateau"].iloc[-1] < g["plateau"].iloc[0]
    return ", ".join(f"δ={r.delta:g}: final {_g(r.final)} at plateau it. {_g(r.plateau)}"
                     for r in g.itertuples()) + f" ({how})", ok and earlier


@claim("Fig 4", "Exact data: NN reconstructions are accurate for every n.",
       "NN rel. ℓ² error < {exact_accurate:g} for every n")
def fig4_accurate(inputs: ClaimInputs) -> tuple[str, bool]:
    s = _need(inputs.nn_rows("summary", set="full", delta=0.0), "NN on exact full data").sort_values("n")
    return (", ".join(f"n={r.n}: {_g(r.rel_l2_median)}" for r in s.itertuples()),
            (s["rel_l2_median"] < THRESHOLDS["exact_accurate"]).all())


@claim("Fig 4", "Exact data: the error is larger in the centre than near the boundary.",
       "NN centre error > boundary-ring error for every n with a centre")
def fig4_centre(inputs: ClaimInputs) -> tuple[str, bool]:
    s = inputs.nn_rows("summary", set="full", delta=0.0)
    s = _need(s[np.isfinite(s["centre_median"])], "NN on exact data with a centre region").sort_values("n")
    return (", ".join(f"n={r.n}: centre {_g(r.centre_median)} vs boundary {_g(r.boundary_median)}"
                      for r in s.itertuples()), (s["centre_median"] > s["boundary_median"]).all())


@claim("Fig 5", "The NN error grows with δ.",
       f"n = {{working_n}}: median rel. ℓ² error increases with δ ({TREND})")
def fig5_grows(inputs: ClaimInputs) -> tuple[str, bool]:
    s = _need(inputs.nn_rows("summary", set="full", n=inputs.figures["working_n"]), "NN noise study")
    s = s.sort_values("delta")
    ok, how = increasing(s["delta"], s["rel_l2_median"], THRESHOLDS["trend_rho"])
    return ", ".join(f"δ={r.delta:g}: {_g(r.rel_l2_median)} [{_g(r.rel_l2_min)}, {_g(r.rel_l2_max)}]"
                     for r in s.itertuples()) + f" ({how})", ok


@claim("Fig 5", "With noise the boundary stays good; the centre dominates the error.",
       "n = {working_n}, every δ > 0: median centre error > median boundary-ring error")
def fig5_centre(inputs: ClaimInputs) -> tuple[str, bool]:
    s = inputs.nn_rows("summary", set="full", n=inputs.figures["working_n"])
    s = _need(s[s["delta"] > 0], "NN at δ > 0").sort_values("delta")
    return (", ".join(f"δ={r.delta:g}: centre {_g(r.centre_median)} vs boundary {_g(r.boundary_median)}"
                      for r in s.itertuples()), (s["centre_median"] > s["boundary_median"]).all())


@claim("Fig 6", "Fixing one known edge reduces the error on it and its neighbours, not in the centre.",
       "n = {working_n}, median over seeds: error on the fixed edge's neighbours smaller with the prior; "
       "centre error ratio fixed/free within [1/{prior_centre:g}, {prior_centre:g}]")
def fig6(inputs: ClaimInputs) -> tuple[str, bool]:
    f, th = inputs.figures, THRESHOLDS["prior_centre"]
    if not inputs.fixed_edges:
        raise Missing("the fixed-edge run declares no fixed edge")
    r = inputs.rows("regions", n=f["working_n"], set="full", profile=f["profile"])
    free = _need(r[r["run"] == f["nn_run"]], "free NN run in the prior study")
    fixed = _need(r[r["run"] == f["fixed_run"]], "fixed-edge NN run")
    deltas = sorted(set(fixed["delta"]) & set(free["delta"]))
    if not deltas:
        raise Missing("no δ shared by the free and fixed runs")
    parts, ok = [], True
    for d in deltas:
        a = select(free, delta=d)[["err_neighbours", "err_centre"]].median()
        b = select(fixed, delta=d)[["err_neighbours", "err_centre"]].median()
        ratio = b["err_centre"] / a["err_centre"]
        ok &= bool(b["err_neighbours"] < a["err_neighbours"] and 1 / th <= ratio <= th)
        parts.append(f"δ={d:g}: neighbours {_g(a['err_neighbours'])} → {_g(b['err_neighbours'])}, "
                     f"centre {_g(a['err_centre'])} → {_g(b['err_centre'])}")
    return "; ".join(parts), ok


@claim("Fig 7", "Full and last3n data give comparable NN reconstructions (exact and noisy).",
       "n = {working_n}: median rel. ℓ² error ratio last3n/full within [1/{comparable:g}, {comparable:g}] "
       "for every δ of figures.compare_deltas (or both below {negligible:g})")
def fig7_comparable(inputs: ClaimInputs) -> tuple[str, bool]:
    th, wn = THRESHOLDS["comparable"], inputs.figures["working_n"]
    parts, ok = [], True
    for d in inputs.figures["compare_deltas"]:
        a = _need(inputs.nn_rows("summary", set="full", n=wn, delta=d),
                  f"NN full δ={d:g}")["rel_l2_median"].iloc[0]
        b = _need(inputs.nn_rows("summary", set="last3n", n=wn, delta=d),
                  f"NN last3n δ={d:g}")["rel_l2_median"].iloc[0]
        ok &= bool((1 / th <= b / a <= th) or max(a, b) < THRESHOLDS["negligible"])
        parts.append(f"δ={d:g}: full {_g(a)}, last3n {_g(b)}")
    return "; ".join(parts), ok


@claim("Fig 7", "The final loss is slightly smaller for last3n than for full data.",
       "n = {working_n}: median final loss last3n < full for every δ of figures.compare_deltas")
def fig7_loss(inputs: ClaimInputs) -> tuple[str, bool]:
    tr = inputs.nn_rows("training", n=inputs.figures["working_n"])
    parts, ok = [], True
    for d in inputs.figures["compare_deltas"]:
        a = _need(select(tr, set="full", delta=d), f"NN full δ={d:g}")["final_loss"].median()
        b = _need(select(tr, set="last3n", delta=d), f"NN last3n δ={d:g}")["final_loss"].median()
        ok &= bool(b < a)
        parts.append(f"δ={d:g}: full {_g(a)}, last3n {_g(b)}")
    return "; ".join(parts), ok


@claim("Fig 8", "Curtis–Morrow is accurate on exact data.",
       "n = {working_n}: CM rel. ℓ² error < {cm_exact:g} on exact full data")
def fig8_exact(inputs: ClaimInputs) -> tuple[str, bool]:
    r = inputs.summary_row(inputs.figures["cm_run"], "full", 0.0)
    return f"CM {_g(r.rel_l2_median)}", r.rel_l2_median < THRESHOLDS["cm_exact"]


@claim("Fig 8", "With noise Curtis–Morrow blows up in the centre while the NN stays robust.",
       "largest δ of figures.compare_deltas: CM centre error ≥ {cm_blowup:g}× the NN centre error "
       "(or CM γ̂ invalid), and the NN rel. ℓ² error < 1")
def fig8_noisy(inputs: ClaimInputs) -> tuple[str, bool]:
    f, noisy = inputs.figures, inputs.noisy_deltas()
    parts = []
    for d in noisy:
        cm, nn = inputs.summary_row(f["cm_run"], "full", d), inputs.summary_row(f["nn_run"], "full", d)
        parts.append(f"δ={d:g}: centre CM {_g(cm.centre_median)} vs NN {_g(nn.centre_median)}; "
                     f"rel. ℓ² CM {_g(cm.rel_l2_median)} vs NN {_g(nn.rel_l2_median)}"
                     + (f" (CM invalid γ̂ in {cm.n_seeds - cm.n_ok}/{cm.n_seeds})"
                        if cm.n_ok < cm.n_seeds else ""))
    d = max(noisy)
    cm, nn = inputs.summary_row(f["cm_run"], "full", d), inputs.summary_row(f["nn_run"], "full", d)
    blow = cm.n_ok < cm.n_seeds or not cm.centre_median < THRESHOLDS["cm_blowup"] * nn.centre_median
    return "; ".join(parts), bool(blow and nn.rel_l2_median < 1)


@claim("Fig 9", "Completing Λ from last3n data amplifies the noise (pronounced unless δ is very small).",
       "n = {working_n}, the paper's completion (plain pseudo-inverse, completion_pinv = plain): median "
       "block error / δ ≥ {amplification:g} at every δ > 0")
def fig9_completion(inputs: ClaimInputs) -> tuple[str, bool]:
    wn, prof = inputs.figures["working_n"], inputs.figures["profile"]

    def variant(pinv):
        comp = inputs.rows("completion", n=wn, set="last3n", profile=prof, completion_pinv=pinv)
        return _need(comp[comp["delta"] > 0], f"last3n completion ({pinv}) at δ > 0").sort_values("delta")

    def numbers(comp):
        return ", ".join(f"δ={r.delta:g}: {_g(r.block_error_median)} (×{_g(r.ratio_to_delta)} δ; CM after "
                         f"{_g(r.cm_rel_l2_median)})" for r in comp.itertuples())

    paper, ours = variant("plain"), variant("truncated")
    text = f"plain (paper): {numbers(paper)}; truncated (ours, for comparison): {numbers(ours)}"
    exact = inputs.rows("completion", n=wn, set="last3n", delta=0.0, completion_pinv="plain")
    if not exact.empty:
        text += f"; exact data (plain): {_g(exact['block_error_median'].iloc[0])}"
    return text, (paper["ratio_to_delta"] >= THRESHOLDS["amplification"]).all()


@claim("Fig 9", "On noisy last3n data the NN beats Curtis–Morrow after completion.",
       "every δ > 0 of figures.compare_deltas: NN median rel. ℓ² error < CM's")
def fig9_nn_better(inputs: ClaimInputs) -> tuple[str, bool]:
    f = inputs.figures
    parts, ok = [], True
    for d in inputs.noisy_deltas():
        cm, nn = inputs.summary_row(f["cm_run"], "last3n", d), inputs.summary_row(f["nn_run"], "last3n", d)
        ok &= bool(_failed(cm) or nn.rel_l2_median < cm.rel_l2_median)
        parts.append(f"δ={d:g}: NN {_g(nn.rel_l2_median)} vs CM {_g(cm.rel_l2_median)}")
    return "; ".join(parts), ok


def _further_sets(inputs: ClaimInputs) -> tuple[list[str], str]:
    """The members of figures.further_sets that Curtis–Morrow applies to, and a note on the others.

    Sets from which Λ cannot be completed (sigma0) are named in the note that opens the evidence;
    the claim is N/A only when CM applies to none of them.
    """
    rows, skipped = [], []
    for pset in inputs.figures["further_sets"]:
        cm = inputs.summary_row(inputs.figures["cm_run"], pset, 0.0, allow_na=True)
        (skipped if cm["n_na"] == cm["n_seeds"] else rows).append(pset)
    if not rows:
        raise Missing(f"Curtis–Morrow applies to none of figures.further_sets ({', '.join(skipped)})")
    return rows, "".join(f"{p}: CM not applicable (Λ not completable); " for p in skipped)


@claim("Fig 10–11", "Further partial sets, exact data: Curtis–Morrow can beat the NN.",
       "some set of figures.further_sets that CM applies to: CM rel. ℓ² error < NN rel. ℓ² error on exact "
       "data")
def fig10_exact(inputs: ClaimInputs) -> tuple[str, bool]:
    f = inputs.figures
    psets, note = _further_sets(inputs)
    parts, ok = [], False
    for pset in psets:
        cm, nn = inputs.summary_row(f["cm_run"], pset, 0.0), inputs.summary_row(f["nn_run"], pset, 0.0)
        ok |= bool(cm.rel_l2_median < nn.rel_l2_median)
        parts.append(f"{pset}: CM {_g(cm.rel_l2_median)} vs NN {_g(nn.rel_l2_median)}")
    return note + "; ".join(parts), ok


@claim("Fig 10–11", "Further partial sets, noisy data: Curtis–Morrow fails, the NN keeps the overall shape.",
       "every set of figures.further_sets that CM applies to, largest δ of figures.compare_deltas: CM "
       "rel. ℓ² error > {fail:g} (or invalid γ̂) and NN rel. ℓ² error < {shape:g}")
def fig10_noisy(inputs: ClaimInputs) -> tuple[str, bool]:
    f = inputs.figures
    noisy = sorted(inputs.noisy_deltas())
    psets, note = _further_sets(inputs)
    parts, ok = [], True
    for pset in psets:
        for d in noisy:
            cm, nn = inputs.summary_row(f["cm_run"], pset, d), inputs.summary_row(f["nn_run"], pset, d)
            parts.append(f"{pset} δ={d:g}: CM {_g(cm.rel_l2_median)} ({cm.n_ok}/{cm.n_seeds} valid), "
                         f"NN {_g(nn.rel_l2_median)}")
        ok &= bool(_failed(cm) and nn.rel_l2_median < THRESHOLDS["shape"])   # cm, nn: at the largest δ
    return note + "; ".join(parts), ok


@claim("Fig 11", "last2n: the NN fails in the region near the unmeasured sides.",
       "exact data: NN rel. ℓ² error on last2n ≥ {quarter:g}× that on full data, and the worst quadrant "
       "is NE (between the N and E sides, which carry no Dirichlet data)")
def fig11_nn(inputs: ClaimInputs) -> tuple[str, bool]:
    nn2 = inputs.summary_row(inputs.figures["nn_run"], "last2n", 0.0)
    nnf = inputs.summary_row(inputs.figures["nn_run"], "full", 0.0)
    reg = _need(inputs.nn_rows("regions", set="last2n", n=inputs.figures["working_n"], delta=0.0),
                "regional errors of NN on last2n")
    quad = {q: float(reg[f"err_{q}"].median()) for q in ("NW", "NE", "SE", "SW")}
    worst = max(quad, key=quad.get)
    return (f"NN last2n {_g(nn2.rel_l2_median)} vs full {_g(nnf.rel_l2_median)}; quadrants "
            + ", ".join(f"{q} {_g(v)}" for q, v in quad.items()),
            nn2.rel_l2_median >= THRESHOLDS["quarter"] * nnf.rel_l2_median and worst == "NE")


@claim("Fig 11", "last2n: Curtis–Morrow fails completely.",
       "CM not applicable (Λ not completable) or CM rel. ℓ² error > {fail:g} (or invalid γ̂) on exact "
       "last2n data")
def fig11_cm(inputs: ClaimInputs) -> tuple[str, bool]:
    cm = inputs.summary_row(inputs.figures["cm_run"], "last2n", 0.0, allow_na=True)
    if cm["n_na"] == cm["n_seeds"]:
        return "CM not applicable: Λ cannot be completed from last2n", True
    return f"CM ran: rel. ℓ² error {_g(cm.rel_l2_median)} ({cm.n_ok}/{cm.n_seeds} valid)", _failed(cm)


@claim("Fig 12 / Table 1", "At small δ the NN error matches the linearised prediction in shape and "
       "magnitude, except for a set without full rank.",
       "every full-rank set: measured/predicted within [1/{table1_factor:g}, {table1_factor:g}] and shape "
       "correlation ≥ {table1_shape:g}; rank-deficient sets have no prediction")
def table1(inputs: ClaimInputs) -> tuple[str, bool]:
    th, sh = THRESHOLDS["table1_factor"], THRESHOLDS["table1_shape"]
    t1 = _need(inputs.rows("table1", run=inputs.figures["nn_run"]), "Table 1 rows of the NN run")
    full = t1[t1["full_rank"].astype(bool)]
    if full.empty:
        raise Missing("no full-rank set in Table 1")
    ok = ((full["ratio"] >= 1 / th) & (full["ratio"] <= th) & (full["shape_corr"] >= sh)).all()
    return "; ".join(f"{r.set}: ratio {_g(r.ratio)}, corr {_g(r.shape_corr)}" if r.full_rank
                     else f"{r.set}: rank {r.rank}/{r.n_params} (no prediction)" for r in t1.itertuples()), ok


@claim("ours: MC", "The linearised prediction (Thm 6.2) is the std of the output-least-squares minimiser at "
       "small δ.",
       # the interval is formatted here: a template cannot compute 1 ± x
       "every full-rank set of `monte_carlo`: median over edges of empirical/predicted std within "
       f"[{1 - THRESHOLDS['mc']:g}, {1 + THRESHOLDS['mc']:g}]")
def monte_carlo(inputs: ClaimInputs) -> tuple[str, bool]:
    # optional table: the workflow passes none when monte_carlo.enabled is false
    mc = _need(inputs.tables.get("sensitivity_mc", pd.DataFrame()),
               "the Monte Carlo check (monte_carlo.enabled)")
    full = mc[mc["full_rank"].astype(bool)]
    if full.empty:
        raise Missing("no full-rank set in the Monte Carlo check")
    return ("; ".join(f"{r.set} (n={r.n}, δ={r.delta:g}, {r.draws} draws): median {_g(r.ratio_median)} "
                      f"[{_g(r.ratio_min)}, {_g(r.ratio_max)}]" for r in full.itertuples()),
            ((full["ratio_median"] - 1).abs() <= THRESHOLDS["mc"]).all())


def _robustness_ratios(inputs: ClaimInputs, other: dict[str, str], what: str,
                       base: dict[str, str] | None = None, base_what: str = "") -> dict[str, pd.DataFrame]:
    """Per noise model of the robustness table (figures' profile, working size, full data): the rows
    of the ``base`` selection (default: the NN run) joined with those of the ``other`` selection (a
    run or a method) on δ, with ``ratio`` = other / base mean rel. ℓ² error and ``other_ok`` (every
    seed gave a valid γ̂)."""
    f = inputs.figures
    rb = _need(inputs.tables.get("robustness", pd.DataFrame()), "the robustness study")
    rb = select(rb, profile=f["profile"], n=f["working_n"], set="full")
    base = base or {"run": f["nn_run"]}
    nn = _need(select(rb, **base), f"{base_what or 'NN run ' + f['nn_run']} in the robustness study")
    ot = _need(select(rb, **other), f"{what} in the robustness study")
    both = nn.merge(ot, on=["noise_model", "delta"], suffixes=("_nn", "_other"))
    both = _need(both, f"δ shared by {base_what or 'the NN'} and {what}").assign(
        ratio=lambda d: d["rel_l2_mean_other"] / d["rel_l2_mean_nn"],
        other_ok=lambda d: d["n_ok_other"] == d["seeds_other"])
    return {m: g.sort_values("delta") for m, g in both.groupby("noise_model", sort=True)}


@claim("ours: robustness", "The network's advantage over Curtis–Morrow is not specific to the paper's noise: "
       "it holds under every noise model.",
       "every noise model and δ of studies.robustness (n = {working_n}, full data): CM mean rel. ℓ² error > "
       "NN's (or a CM γ̂ invalid)")
def robust_cm(inputs: ClaimInputs) -> tuple[str, bool]:
    per_model = _robustness_ratios(inputs, {"run": inputs.figures["cm_run"]}, "the CM run")
    parts, ok = [], True
    for model, g in per_model.items():
        ok &= bool(((g["ratio"] > 1) | ~g["other_ok"]).all())
        parts.append(f"{model}: CM/NN " + ", ".join(f"δ={r.delta:g} ×{_g(r.ratio)}"
                                                    + ("" if r.other_ok else " (CM invalid γ̂)")
                                                    for r in g.itertuples()))
    return "; ".join(parts), ok


@claim("ours: robustness", "The network matches output least squares (ols) under every noise model, not "
       "only the paper's.",
       "every noise model and δ of studies.robustness (n = {working_n}, full data): ols / NN mean rel. ℓ² "
       "error within [1/{parity:g}, {parity:g}]")
def robust_ols(inputs: ClaimInputs) -> tuple[str, bool]:
    per_model = _robustness_ratios(inputs, {"method": "ols"}, "an ols run")
    th = THRESHOLDS["parity"]
    parts, ok = [], True
    for model, g in per_model.items():
        ok &= bool(((g["ratio"] >= 1 / th) & (g["ratio"] <= th)).all())
        parts.append(f"{model}: ols/NN " + ", ".join(f"δ={r.delta:g} ×{_g(r.ratio)}" for r in g.itertuples()))
    return "; ".join(parts), ok


@claim("ours: regularised baseline", "Tikhonov regularisation (smooth prior, α by the discrepancy principle) "
       "beats output least squares under the paper's noise; under the other noise models it wins at some "
       "levels and loses at others (reported).",
       "relative noise, every δ of studies.robustness (n = {working_n}, full data): tikhonov / ols mean rel. "
       "ℓ² error < 1")
def robust_tikhonov(inputs: ClaimInputs) -> tuple[str, bool]:
    per_model = _robustness_ratios(inputs, {"method": "tikhonov"}, "a tikhonov run", base={"method": "ols"},
                                   base_what="an ols run")
    if DEFAULT_NOISE_MODEL not in per_model:
        raise Missing(f"no {DEFAULT_NOISE_MODEL} noise in the robustness study")
    parts = []
    for model, g in per_model.items():
        wins = int((g["ratio"] < 1).sum())
        ratios = ", ".join(f"δ={r.delta:g} ×{_g(r.ratio)}" for r in g.itertuples())
        parts.append(f"{model}: tikhonov/ols {ratios} (wins {wins} of {len(g)})")
    return "; ".join(parts), bool((per_model[DEFAULT_NOISE_MODEL]["ratio"] < 1).all())


CLAIMS: tuple[ClaimSpec, ...] = (
    fig3a_steady, fig3a_slower, fig3b, fig4_accurate, fig4_centre, fig5_grows, fig5_centre, fig6,
    fig7_comparable, fig7_loss, fig8_exact, fig8_noisy, fig9_completion, fig9_nn_better, fig10_exact,
    fig10_noisy, fig11_nn, fig11_cm, table1, monte_carlo, robust_cm, robust_ols, robust_tikhonov,
)


def evaluate_claims(tables: Mapping[str, pd.DataFrame], figures: Mapping[str, Any],
                    fixed_edges: Sequence[int] | None = None,
                    claims: Sequence[ClaimSpec] = CLAIMS) -> list[Claim]:
    """Evaluate every claim against the tables.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        The workflow's tables by name (see :class:`ClaimInputs`).
    figures : mapping
        The config's ``figures`` section.
    fixed_edges : sequence of int, optional
        Edge indices of the fixed-edge run.
    claims : sequence of ClaimSpec, optional
        The claims to evaluate; all of them by default.

    Returns
    -------
    list of Claim
        One per spec, in order; ``N/A`` with the reason when the grid lacks its rows or a table
        lacks a column.
    """
    inputs = ClaimInputs(tables, figures, tuple(fixed_edges or ()))
    return [_evaluate(spec, inputs) for spec in claims]


def _evaluate(spec: ClaimSpec, inputs: ClaimInputs) -> Claim:
    test = spec.test
    try:
        test = spec.test.format_map({**inputs.figures, **THRESHOLDS})
        evidence, passed = spec.evidence(inputs)
        verdict = PASS if passed else FAIL
    except (Missing, KeyError) as exc:
        reason = exc if isinstance(exc, Missing) else f"missing column or table {exc}"
        evidence, verdict = f"not evaluated: {reason}", NA
    return Claim(spec.source, spec.statement, test, evidence, verdict)


def verdict_counts(claims: pd.DataFrame | Sequence[Claim]) -> dict[str, int]:
    """``{"pass", "fail", "na"}``: how many claims got each verdict (``claims``: evaluated claims or
    the typed claims table, ``results/tables/claims.csv``)."""
    verdicts = list(claims["verdict"]) if isinstance(claims, pd.DataFrame) else [c.verdict for c in claims]
    return {key: verdicts.count(v) for key, v in (("pass", PASS), ("fail", FAIL), ("na", NA))}


def render_claims(claims: list[Claim], context: str = "") -> str:
    """``results/claims.md``: a summary count and one table row per claim."""
    counts = dict(zip((PASS, FAIL, NA), verdict_counts(claims).values(), strict=True))
    lines = ["# Claims of the paper checked against this run", "",
             "Generated by `discrete_eit.experiment.claims` from `results/tables/*.csv`; do not edit by "
             "hand. Thresholds are fixed in `discrete_eit.experiment.claims.THRESHOLDS`.", ""]
    if context:
        lines += [context, ""]
    lines += [f"**{counts[PASS]} PASS, {counts[FAIL]} FAIL, {counts[NA]} N/A** of {len(claims)} claims.", "",
              "| # | source | claim | test | evidence | verdict |", "|---|---|---|---|---|---|"]
    for i, c in enumerate(claims, 1):
        cells = [str(i), c.source, c.statement, c.test, c.evidence, f"**{c.verdict}**"]
        lines.append("| " + " | ".join(x.replace("|", "\\|").replace("\n", " ") for x in cells) + " |")
    return "\n".join(lines) + "\n"


# ---- the claims spec (:mod:`.specs`) ------------------------------------------------------------
TABLE_KEYS = {"errors_summary": "summary"}
"""Tables the claims know by another name than their file's."""


def build_claims(inputs: Mapping[str, Sequence[str]], params: Mapping[str, Any]) -> list[Claim]:
    """Every claim evaluated against the tables ``inputs`` (``{table name: [CSV path]}``)."""
    tables = {TABLE_KEYS.get(name, name): pd.read_csv(paths[0]) for name, paths in inputs.items() if paths}
    return evaluate_claims(tables, params["figures"], list(params["fixed_edges"]))


def claims_table(claims: Sequence[Claim]) -> pd.DataFrame:
    """The claims as a typed table (``results/tables/claims.csv``): one row per claim, in order."""
    return pd.DataFrame([{"number": i, "source": c.source, "statement": c.statement, "test": c.test,
                          "evidence": c.evidence, "verdict": c.verdict} for i, c in enumerate(claims, 1)],
                        columns=["number", "source", "statement", "test", "evidence", "verdict"])


def context_line(figures: Mapping[str, Any]) -> str:
    """What the claims were evaluated at (the head of ``results/claims.md``)."""
    f = figures
    return (f"Working size n = {f['working_n']}, profile `{f['profile']}`, figure seed {f['seed']}; "
            f"NN run `{f['nn_run']}`, Curtis–Morrow run `{f['cm_run']}`. Medians over noise seeds "
            "(results/tables/errors_summary.csv).")


def write_result(claims: Sequence[Claim], outputs: Mapping[str, str], title: str = "", note: str = "",
                 inputs: Sequence[str] = (), params: Mapping[str, Any] | None = None) -> None:
    """``results/claims.md``, its HTML page for the report, and the typed ``claims.csv``."""
    import logging

    from discrete_eit.artifacts.formats import write_bytes_artifact

    from .tables import to_html, write_table

    params = dict(params or {})
    figures = params.get("figures", {})
    record = {"figures": figures}
    write_bytes_artifact(outputs["md"], render_claims(list(claims), context_line(figures)).encode(), "claims",
                         record, list(inputs))
    table = claims_table(claims)
    write_table(table, outputs["csv"], None, inputs=inputs, params=record)
    counts = verdict_counts(claims)
    note = (f"{context_line(figures)} {counts['pass']} PASS, {counts['fail']} FAIL, "
            f"{counts['na']} N/A of {len(claims)} claims.")
    write_bytes_artifact(outputs["html"], to_html(table, title, note).encode(), "claims", record,
                         list(inputs))
    for c in claims:
        logging.getLogger(__name__).info("%s %s: %s", c.verdict, c.source, c.statement)
