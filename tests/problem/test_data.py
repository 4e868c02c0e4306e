"""Noise, partial-data sets, datasets and the Jacobian (MATH.md §3, §6.3, §7)."""

import numpy as np
import pytest

from discrete_eit import (
    DataError,
    Dataset,
    Lattice,
    dtn_jacobian,
    dtn_matrix,
    generate_dataset,
    partial_mask,
)
from discrete_eit.problem.noise import add_relative_noise


def test_noise_is_relative_seeded_and_unsymmetric(random_gamma):
    L, g = random_gamma(5)
    D = dtn_matrix(L, g)
    a = add_relative_noise(D, 1e-2, seed=3)
    np.testing.assert_array_equal(a, add_relative_noise(D, 1e-2, seed=3))
    assert not np.array_equal(a, add_relative_noise(D, 1e-2, seed=4))
    xi = (a - D) / (1e-2 * D)
    assert abs(xi.mean()) < 0.1 and abs(xi.std() - 1) < 0.1  # 400 N(0,1) draws
    assert not np.allclose(a, a.T)
    s = add_relative_noise(D, 1e-2, seed=3, symmetric=True)
    np.testing.assert_allclose(s, s.T, rtol=0, atol=1e-15)
    # symmetrised ξ keeps unit variance on the diagonal too (20 diagonal entries × 300 seeds)
    diag = np.array([np.diag(add_relative_noise(D, 1.0, seed=k, symmetric=True) / D - 1) for k in range(300)])
    off = np.array([(add_relative_noise(D, 1.0, seed=k, symmetric=True) / D - 1)[0, 1:] for k in range(300)])
    assert abs(diag.std() - 1) < 0.05 and abs(off.std() - 1) < 0.05
    np.testing.assert_array_equal(add_relative_noise(D, 0.0, seed=3), D)
    with pytest.raises(ValueError):
        add_relative_noise(D, -1e-3, seed=0)


@pytest.mark.parametrize("n", [1, 2, 5])
def test_partial_set_shapes(n):
    nb = 4 * n
    assert partial_mask("full", n).sum() == nb * nb
    m3 = partial_mask("last3n", n)
    assert m3[:, n:].all() and not m3[:, :n].any()
    m2 = partial_mask("last2n", n)
    assert m2[:, 2 * n:].all() and not m2[:, : 2 * n].any()
    s0 = partial_mask("sigma0", n)
    assert s0.sum() == 2 * n * (n + 1) and partial_mask("corners", n).sum() == 2 * n * (n + 1)
    L = Lattice(n)
    assert s0[L.north(1), L.south(1)] and (n == 1 or not s0[L.north(1), L.west(n)])
    with pytest.raises(ValueError, match="unknown partial set 'nope'"):
        partial_mask("nope", n)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_jacobian_matches_central_differences(n, random_gamma):
    L, g = random_gamma(n, 2)
    J = dtn_jacobian(L, g)
    h = 1e-5
    fd = np.empty_like(J)
    for e in range(L.n_edges):
        step = np.zeros(L.n_edges)
        step[e] = h
        fd[:, e] = ((dtn_matrix(L, g + step) - dtn_matrix(L, g - step)) / (2 * h)).ravel()
    # relative per DtN entry (row) and per edge (column), so small far-corner entries count too
    diff = np.abs(J - fd)
    assert (diff.max(axis=1) / np.abs(fd).max(axis=1)).max() < 1e-7
    assert (diff.max(axis=0) / np.abs(fd).max(axis=0)).max() < 1e-7
    # entry selection: mask rows are the matching rows of the full Jacobian
    mask = partial_mask("sigma0", n)
    np.testing.assert_array_equal(dtn_jacobian(L, g, mask), J[mask.ravel()])


@pytest.mark.parametrize("n", range(1, 9))
def test_sigma0_full_rank_corners_deficient(n, random_gamma):
    L, g = random_gamma(n, 100 + n)
    E = L.n_edges
    s = np.linalg.svd(dtn_jacobian(L, g, partial_mask("sigma0", n)), compute_uv=False)
    assert np.sum(s > 1e-10 * s[0]) == E
    s = np.linalg.svd(dtn_jacobian(L, g, partial_mask("corners", n)), compute_uv=False)
    assert np.sum(s > 1e-10 * s[0]) == E - 1


def test_corner_identity_behind_the_deficiency(random_gamma):
    # Λ(N1,Wn)Λ(En,S1)Λ(Nn,W1)Λ(E1,Sn) = Λ(Nn,En)Λ(S1,W1)Λ(N1,E1)Λ(Sn,Wn) for every γ (MATH.md §6)
    L, g = random_gamma(5, 9)
    D, n = dtn_matrix(L, g), 5
    N, E, S, W = L.north, L.east, L.south, L.west
    lhs = D[N(1), W(n)] * D[E(n), S(1)] * D[N(n), W(1)] * D[E(1), S(n)]
    rhs = D[N(n), E(n)] * D[S(1), W(1)] * D[N(1), E(1)] * D[S(n), W(n)]
    assert lhs == pytest.approx(rhs, rel=1e-10)


def test_generate_dataset_masks_and_validation(random_gamma):
    L, g = random_gamma(3)
    d = generate_dataset(g, 3, delta=1e-3, seed=1, partial_set="last3n")
    assert np.isnan(d.dtn[:, :3]).all() and np.isfinite(d.dtn[:, 3:]).all()
    np.testing.assert_array_equal(d.gamma_true, g)
    bad = d.dtn.copy()
    bad[5, 5] = np.inf
    with pytest.raises(DataError, match=r"src.npz: dtn has a non-finite measured entry at \(5, 5\)"):
        Dataset(3, bad, d.mask, source="src.npz")
    with pytest.raises(DataError, match="shape"):
        Dataset(3, d.dtn[:, :5], d.mask, source="x")
    with pytest.raises(DataError, match="NaN"):
        Dataset(3, np.zeros((12, 12)), d.mask, source="x")
    with pytest.raises(DataError, match="n must be an integer >= 1"):
        Dataset(0, np.zeros((0, 0)), np.zeros((0, 0), bool), source="x")


@pytest.mark.parametrize("n", [2, 5, 6, 10])
def test_wave_is_the_authors_profile(n):
    """``wave`` = the authors' formula, element by element (1-based row p, column q; the vertical
    coefficients (4/11, 2/11) are those of their transposed array, not our former (2/11, 4/11))."""
    from discrete_eit import conductivity_profile

    lattice = Lattice(n)
    gh, gv = lattice.split(conductivity_profile("wave", n))
    for p in range(1, n + 1):
        for q in range(1, n + 2):
            assert gh[p - 1, q - 1] == pytest.approx((np.sin(0.4 * p + 0.2 * q) ** 2 + 0.5) / 1.5, abs=1e-15)
    for p in range(1, n + 2):
        for q in range(1, n + 1):
            expected = (np.sin(4 * p / 11 + 2 * q / 11) ** 2 + 0.5) / 1.5
            assert gv[p - 1, q - 1] == pytest.approx(expected, abs=1e-15)
    if n == 5:  # the former profile differed by up to 0.42 here
        old = (np.sin(2 * np.arange(1, 7)[:, None] / 11 + 4 * np.arange(1, 6)[None] / 11) ** 2 + 0.5) / 1.5
        assert np.abs(gv - old).max() > 0.4
