"""Completion of Λ from partial data (MATH.md §6)."""

from __future__ import annotations

import numpy as np
import pytest

from discrete_eit.problem.completion import (
    COMPLETION_PINVS,
    complete_dtn,
    corner_arc,
    disjoint_paths,
    is_completable,
)
from discrete_eit.problem.datasets import generate_dataset
from discrete_eit.problem.noise import add_relative_noise
from discrete_eit.problem.partial import partial_mask
from discrete_eit.problem.profiles import conductivity_profile


@pytest.mark.parametrize("n", range(2, 11))
def test_last3n_exact_block_error(n, exact_dtn):
    _, lam = exact_dtn(n, seed=n)
    mask = partial_mask("last3n", n)
    completed, info = complete_dtn(np.where(mask, lam, np.nan), mask, return_info=True)
    block_err = np.abs(completed[:n, :n] - lam[:n, :n]).max() / np.abs(lam).max()
    assert block_err <= 1e-10
    # measured entries untouched (exact data are symmetric, so averaging changes nothing)
    assert np.allclose(completed[mask], lam[mask], rtol=0, atol=1e-15)
    assert info["completion"] == "rank-rule"
    # the greedy order fills the pair (N_a, N_b), a < b, at level min(a, n+1-b) <= n // 2
    assert info["max_level"] == n // 2


@pytest.mark.parametrize(("pset", "n", "bound"), [("last3n", 3, 1e-13), ("last3n", 6, 1e-13),
                                                  ("last3n", 8, 1e-13), ("last2n", 4, 1e-12),
                                                  ("last2n", 6, 1e-10)])
def test_both_pseudo_inverses_are_exact_on_exact_data(pset, n, bound, exact_dtn):
    gamma, lam = exact_dtn(n, seed=n, profile="wave")
    ds = generate_dataset(gamma, n, partial_set=pset)
    for pinv in COMPLETION_PINVS:
        completed, info = complete_dtn(ds, completion_pinv=pinv, return_info=True)
        assert np.abs(completed - lam).max() / np.abs(lam).max() < bound, pinv
        assert info["completion_pinv"] == pinv


def _rms_block_errors(exact_dtn, n: int, pset: str, delta: float, seeds: int) -> dict[str, float]:
    """RMS over noise seeds of the N×N block error, per pseudo-inverse (wave profile)."""
    gamma, lam = exact_dtn(n, profile="wave")
    err = {p: [] for p in COMPLETION_PINVS}
    for seed in range(seeds):
        ds = generate_dataset(gamma, n, delta=delta, seed=seed, partial_set=pset)
        for p in COMPLETION_PINVS:
            err[p].append(np.linalg.norm(complete_dtn(ds, completion_pinv=p)[:n, :n] - lam[:n, :n]))
    return {p: float(np.sqrt(np.mean(np.square(e)))) for p, e in err.items()}


def test_plain_pseudo_inverse_amplifies_noise_on_last2n(exact_dtn):
    # benchmarks/completion_variants.md: last2n completes at levels up to n, where the plain
    # pseudo-inverse inverts noise singular values (measured RMS ratio 2.23 at n = 4, 20 seeds)
    rms = _rms_block_errors(exact_dtn, 4, "last2n", 1e-5, seeds=20)
    assert rms["plain"] / rms["truncated"] > 1.5


def test_truncation_does_not_filter_noise_on_last3n(exact_dtn):
    # a finding, not a wish: on last3n (levels <= n // 2) the plain pseudo-inverse is slightly *more*
    # accurate (measured RMS ratio 0.955 at n = 6, 20 seeds); both stay ≈ δ (no amplification)
    rms = _rms_block_errors(exact_dtn, 6, "last3n", 1e-5, seeds=20)
    assert 0.85 < rms["plain"] / rms["truncated"] < 1.0
    block_norm = np.linalg.norm(exact_dtn(6, profile="wave")[1][:6, :6])
    assert 0.5e-5 < rms["plain"] / block_norm < 2e-5


def test_completion_pinv_is_checked(exact_dtn):
    gamma, _ = exact_dtn(3)
    with pytest.raises(ValueError, match="completion_pinv must be one of truncated, plain, got 'svd'"):
        complete_dtn(generate_dataset(gamma, 3, partial_set="last3n"), completion_pinv="svd")


def test_last3n_completion_is_symmetric_with_zero_row_sums(exact_dtn):
    n = 5
    _, lam = exact_dtn(n)
    noisy = add_relative_noise(lam, 1e-3, seed=3)
    mask = partial_mask("last3n", n)
    completed = complete_dtn(np.where(mask, noisy, np.nan), mask)
    assert np.array_equal(completed, completed.T)
    assert np.abs(completed[:n].sum(axis=1)).max() < 1e-12
    # entries measured twice (E∪S∪W block) are averaged ...
    esw = np.arange(n, 4 * n)
    averaged = 0.5 * (noisy + noisy.T)[np.ix_(esw, esw)]
    assert np.allclose(completed[np.ix_(esw, esw)], averaged, atol=0, rtol=1e-15)
    # ... rows N × columns E∪S∪W keep their single measurement, mirrored into the N columns
    assert np.array_equal(completed[:n, n:], noisy[:n, n:])
    assert np.array_equal(completed[n:, :n], noisy[:n, n:].T)


@pytest.mark.parametrize(("n", "bound"), [(4, 10.0), (6, 30.0), (8, 100.0)])
def test_last3n_noise_amplification_is_moderate(n, bound, exact_dtn):
    # MATH.md §6: block error / δ ≈ 5 (n=6), 10 (n=8); measured here ≈ 1.4 and 5 (max-abs / max|Λ|).
    _, lam = exact_dtn(n, seed=1)
    mask = partial_mask("last3n", n)
    delta = 1e-6
    completed = complete_dtn(np.where(mask, add_relative_noise(lam, delta, seed=7), np.nan), mask)
    assert np.abs(completed[:n, :n] - lam[:n, :n]).max() / np.abs(lam).max() / delta < bound


def test_full_mask_returns_data_unchanged(exact_dtn):
    _, lam = exact_dtn(3)
    noisy = add_relative_noise(lam, 1e-2, seed=0)  # not symmetric
    out, info = complete_dtn(noisy, np.ones_like(noisy, dtype=bool), return_info=True)
    assert np.array_equal(out, noisy) and out is not noisy
    assert info["completion"] == "none"


def test_accepts_dataset_and_mask_from_nan(exact_dtn):
    n = 4
    gamma, lam = exact_dtn(n)
    ds = generate_dataset(gamma, n, partial_set="last3n")
    a = complete_dtn(ds)
    b = complete_dtn(ds.dtn)  # mask = isfinite
    assert np.array_equal(a, b)
    assert np.abs(a - lam).max() < 1e-13


@pytest.mark.parametrize("name", ["corners", "sigma0"])
def test_incomplete_mask_raises_naming_the_set(name):
    n = 4
    ds = generate_dataset(conductivity_profile("random", n, 0), n, partial_set=name)
    pattern = rf"cannot complete DtN data \(partial set {name}\): \d+ entry pair"
    with pytest.raises(ValueError, match=pattern) as exc:
        complete_dtn(ds)
    msg = str(exc.value)
    assert "\n" not in msg and "Λ(N1," in msg
    assert not is_completable(ds.mask)


def test_unmeasured_columns_are_named(exact_dtn):
    n = 3
    _, lam = exact_dtn(n)
    mask = np.zeros((4 * n, 4 * n), dtype=bool)
    mask[:, 3 * n:] = True  # Dirichlet data on W only
    with pytest.raises(ValueError, match=r"columns N1\.\.S1 \(9 experiments\) unmeasured"):
        complete_dtn(np.where(mask, lam, np.nan), mask, set_name="west-only")


def test_last2n_is_completed_exactly_but_ill_conditioned(exact_dtn):
    # Finding (contradicts MATH.md §3): the rank rule completes last2n from exact data, so last2n
    # determines Λ (and γ); the Jacobian of last2n also has full rank. It is badly conditioned.
    n = 6
    _, lam = exact_dtn(n, seed=1)
    mask = partial_mask("last2n", n)
    assert is_completable(mask)
    exact = complete_dtn(np.where(mask, lam, np.nan), mask)
    assert np.abs(exact - lam).max() / np.abs(lam).max() < 1e-11
    delta = 1e-6
    noisy = complete_dtn(np.where(mask, add_relative_noise(lam, delta, seed=2), np.nan), mask)
    assert np.abs(noisy - lam).max() / np.abs(lam).max() / delta > 100  # vs ≈ 1 for last3n


def test_sigma0_completes_only_for_n1(exact_dtn):
    # sigma0 determines γ (full-rank Jacobian) but not through symmetry + the rank rule for n >= 2
    # (checked exhaustively over all P, Q at n = 2); n = 1 is completed.
    gamma, lam = exact_dtn(1)
    mask = partial_mask("sigma0", 1)
    assert np.abs(complete_dtn(np.where(mask, lam, np.nan), mask) - lam).max() < 1e-14
    assert not is_completable(partial_mask("sigma0", 2))


@pytest.mark.parametrize("name", ["full", "last3n", "last2n"])
def test_is_completable(name):
    assert is_completable(partial_mask(name, 5))


def test_rank_principle_and_path_count(exact_dtn):
    n = 5
    _, lam = exact_dtn(n, seed=2)
    for corner in range(4):
        for i in range(1, n):
            A = corner_arc(n, corner, i)
            B = np.setdiff1d(np.arange(4 * n), A)
            assert disjoint_paths(n, A, B) == i
            s = np.linalg.svd(lam[np.ix_(A, B)], compute_uv=False)
            assert s[i - 1] / s[0] > 1e-8 and (i == len(s) or s[i] / s[0] < 1e-12)
    assert list(corner_arc(3, 0, 2)) == [10, 11, 0, 1]  # W2, W1, N1, N2
