"""Lattice indexing and the forward DtN map (MATH.md §1–2)."""

import numpy as np
import pytest

from discrete_eit import Lattice, conductivity_profile, dtn_matrix, harmonic_extensions, kirchhoff_matrix


def test_counts_and_orders():
    L = Lattice(3)
    assert (L.n_boundary, L.n_interior, L.n_edges) == (12, 9, 24)
    assert L.boundary_labels == ["N1", "N2", "N3", "E1", "E2", "E3", "S3", "S2", "S1", "W3", "W2", "W1"]
    assert [L.node(0, 1), L.node(1, 4), L.node(4, 1), L.node(1, 0)] == [0, 3, 8, 11]
    assert L.node(1, 1) == 12 and L.node(3, 3) == 20
    # first horizontal edge is W1-(1,1), first vertical edge is N1-(1,1)
    assert tuple(L.edges[0]) == (L.west(1), L.node(1, 1))
    assert tuple(L.edges[L.n_horizontal]) == (L.north(1), L.node(1, 1))
    # every boundary node has exactly one edge, its spike
    for t in range(L.n_boundary):
        touching = np.nonzero((L.edges == t).any(axis=1))[0]
        assert list(touching) == [L.spike_edges[t]]
    with pytest.raises(IndexError):
        L.node(0, 0)
    with pytest.raises(ValueError):
        Lattice(0)


def test_split_join_roundtrip(random_gamma):
    L, g = random_gamma(4, 1)
    gh, gv = L.split(g)
    assert gh.shape == (4, 5) and gv.shape == (5, 4)
    assert gh[1, 2] == g[L.horizontal_index(1, 2)] and gv[3, 0] == g[L.vertical_index(3, 0)]
    np.testing.assert_array_equal(L.join(gh, gv), g)


def test_n1_star_formula():
    # n = 1 is a star: Λ_ij = γ_i δ_ij − γ_i γ_j / Σγ, with γ_i the spike of boundary node i.
    L = Lattice(1)
    g = np.array([1.0, 2.0, 3.0, 4.0])  # gh = (W1, E1) spikes, gv = (N1, S1) spikes
    spikes = g[L.spike_edges]
    np.testing.assert_allclose(spikes, [3.0, 2.0, 4.0, 1.0])  # N1, E1, S1, W1
    expected = np.diag(spikes) - np.outer(spikes, spikes) / spikes.sum()
    np.testing.assert_allclose(dtn_matrix(L, g), expected, rtol=0, atol=1e-15)


def test_n2_unit_conductivity_by_hand():
    # Interior of n = 2 is a 4-cycle; (4I − A)⁻¹ has 7/24 on the diagonal, 1/12 between neighbours
    # and 1/24 between opposite nodes, so Λ(b, b') = δ_bb' − G(p_b, p_b') with p_b the interior
    # neighbour of b: diagonal 17/24.
    L = Lattice(2)
    inv = {0: 7 / 24, 1: 1 / 12, 2: 1 / 24}  # by lattice (Manhattan) distance in the 2×2 block
    nb = L.boundary_points
    interior = np.clip(nb, 1, 2)  # the interior neighbour of each boundary point
    dist = np.abs(interior[:, None, :] - interior[None, :, :]).sum(axis=2)
    expected = np.eye(8) - np.vectorize(inv.get)(dist)
    assert expected[0, 0] == pytest.approx(17 / 24)
    np.testing.assert_allclose(dtn_matrix(L, np.ones(L.n_edges)), expected, rtol=0, atol=1e-15)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_dtn_structure(n, random_gamma):
    L, g = random_gamma(n, n)
    D = dtn_matrix(L, g)
    assert D.shape == (4 * n, 4 * n)
    np.testing.assert_array_equal(D, D.T)
    np.testing.assert_allclose(D.sum(axis=1), 0, atol=1e-13)
    assert np.all(np.diag(D) > 0)
    assert np.all(D[~np.eye(4 * n, dtype=bool)] < 0)
    eig = np.linalg.eigvalsh(D)
    assert eig.min() > -1e-13 and np.sum(eig < 1e-12) == 1  # PSD, kernel = constants


@pytest.mark.parametrize("n", [2, 3, 6])
def test_symmetry_oracles(n, random_gamma):
    L, g = random_gamma(n, 7)
    D = dtn_matrix(L, g)
    for perm, transform in [(L.rotation_permutation, L.rotate_gamma),
                            (L.transpose_permutation, L.transpose_gamma)]:
        np.testing.assert_allclose(dtn_matrix(L, transform(g)), D[np.ix_(perm, perm)], rtol=1e-12, atol=1e-14)


def test_n2_general_gamma_by_hand():
    # n = 2 written out by hand (independent of Lattice's index functions): interior a=(1,1),
    # b=(1,2), c=(2,2), d=(2,1); boundary order N1 N2 E1 E2 S2 S1 W2 W1 touches a b b c c d d a.
    # Λ = diag(s) − S Bᵀ (L_cyc + diag(spike sums))⁻¹ B S with s the spike conductivities.
    rng = np.random.default_rng(4)
    gh = rng.uniform(0.3, 1, (2, 3))
    gv = rng.uniform(0.3, 1, (3, 2))
    a, b, c, d = range(4)
    spikes = [(gv[0, 0], a), (gv[0, 1], b), (gh[0, 2], b), (gh[1, 2], c),
              (gv[2, 1], c), (gv[2, 0], d), (gh[1, 0], d), (gh[0, 0], a)]
    links = [(gh[0, 1], a, b), (gh[1, 1], d, c), (gv[1, 0], a, d), (gv[1, 1], b, c)]
    Lii = np.zeros((4, 4))
    for w, p, q in links:
        Lii[[p, q], [p, q]] += w
        Lii[p, q] -= w
        Lii[q, p] -= w
    B = np.zeros((4, 8))
    for k, (w, p) in enumerate(spikes):
        Lii[p, p] += w
        B[p, k] = w
    s = np.array([w for w, _ in spikes])
    expected = np.diag(s) - B.T @ np.linalg.solve(Lii, B)
    L = Lattice(2)
    np.testing.assert_allclose(dtn_matrix(L, L.join(gh, gv)), expected, rtol=1e-13, atol=1e-15)


def test_harmonic_extension_and_energy(random_gamma):
    L, g = random_gamma(4, 3)
    U = harmonic_extensions(L, g)
    K = kirchhoff_matrix(L, g)
    np.testing.assert_allclose(U[: L.n_boundary], np.eye(L.n_boundary))
    np.testing.assert_allclose((K @ U)[L.n_boundary:], 0, atol=1e-13)  # harmonic inside
    np.testing.assert_allclose(U.T @ (K @ U), dtn_matrix(L, g), atol=1e-13)  # Λ = UᵀLU
    # current convention: (Λf)(b) = γ_spike(b) (f(b) − u(p_b))
    f = np.random.default_rng(0).standard_normal(L.n_boundary)
    u = U @ f
    a, b = L.edges[L.spike_edges].T
    interior_end = np.where(a < L.n_boundary, b, a)
    np.testing.assert_allclose(dtn_matrix(L, g) @ f, g[L.spike_edges] * (f - u[interior_end]), atol=1e-13)


def test_wave_profile_range_and_formula():
    L = Lattice(5)
    g = conductivity_profile("wave", L)
    assert g.min() >= 1 / 3 - 1e-15 and g.max() <= 1 + 1e-15
    gh, gv = L.split(g)
    assert gh[1, 2] == pytest.approx((np.sin(0.4 * 2 + 0.2 * 3) ** 2 + 0.5) / 1.5)
    assert gv[4, 0] == pytest.approx((np.sin(4 * 5 / 11 + 2 * 1 / 11) ** 2 + 0.5) / 1.5)


def test_bad_gamma_rejected():
    L = Lattice(2)
    with pytest.raises(ValueError, match="shape"):
        dtn_matrix(L, np.ones(5))
    with pytest.raises(ValueError, match="non-finite"):
        dtn_matrix(L, np.r_[np.nan, np.ones(11)])
    with pytest.raises(ValueError, match="positive"):
        dtn_matrix(L, np.r_[-1.0, np.ones(11)])


def test_large_lattice_runs():
    L = Lattice(64)
    D = dtn_matrix(L, conductivity_profile("wave", L))
    assert D.shape == (256, 256) and np.isfinite(D).all()


@pytest.mark.parametrize("n", [1, 3, 9])
def test_sparse_boundary_product_equals_the_dense_one_bitwise(n):
    """The forward map's L_BI·U (one product per entry) is the dense product of MATH.md §2, bit for bit."""
    from discrete_eit import solve_forward

    lattice = Lattice(n)
    gamma = conductivity_profile("random", lattice, seed=n)
    L = kirchhoff_matrix(lattice, gamma).toarray()
    nb = lattice.n_boundary
    sol = solve_forward(lattice, gamma)
    dense = L[:nb, :nb] + L[nb:, :nb].T @ sol.potentials[nb:]
    assert np.array_equal(sol.dtn, 0.5 * (dense + dense.T))


@pytest.mark.parametrize("n", [1, 2, 5, 16, 17])
def test_dense_and_banded_forward_agree(n, random_gamma):
    """dtn_matrix's numpy-only path (n <= 16) and solve_forward's banded Cholesky give one Λ."""
    from discrete_eit.problem.forward import DENSE_MAX_N, _dtn_dense, solve_forward

    lat, gamma = random_gamma(n)
    banded = solve_forward(lat, gamma).dtn
    assert np.abs(_dtn_dense(lat, gamma) - banded).max() <= 2e-15 * np.abs(banded).max()
    assert np.array_equal(dtn_matrix(lat, gamma), _dtn_dense(lat, gamma) if n <= DENSE_MAX_N else banded)
