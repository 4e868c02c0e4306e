"""``nn_fast``: the interpretable network's loss minimised by variable projection (MATH.md §4).

The loss of the network (paper's method) for conductivities γ (E,) and first-layer weights
K (n²×4n) is

    ℓ(γ, K) = (1/m) Σ_k ( ‖r_I,k‖² + λ ‖M_k ⊙ r_B,k‖² ),   r_k = L(γ) U_k − [ψ_k; 0],
    U_k = [e_k; K e_k],

over the m samples k (columns of Λ^δ) with at least one measured entry; M_k is the mask of
column k. Write ``W_k`` for the diagonal row weights (1 on interior rows, λ on measured boundary
rows, 0 on unmeasured ones). For fixed γ, ℓ is a linear least-squares problem in each column
``x_k = K e_k`` separately:

    min_x ‖W_k^{1/2} (L_{:,I} x + L_{:,k} − ψ̂_k)‖²,     ψ̂_k = [M_k ⊙ ψ_k; 0].

``A_k = W_k^{1/2} L_{:,I}`` has full column rank (its interior block ``L_II`` is nonsingular), so
the optimal x_k is unique and the *reduced* loss is ``f(γ) = (1/m) Σ_k ‖P⊥_k b_k‖²`` with
``b_k = W_k^{1/2}(L_{:,k} − ψ̂_k)`` and ``P⊥_k`` the projector onto range(A_k)^⊥. Samples whose
masks coincide share ``A_k``; they are processed as one *group* g (full and ``last3n`` data have
a single group, ``sigma0`` one per distinct column mask).

Derivatives (variable projection). ``∂L/∂γ_e = s_e s_eᵀ`` with ``s_e = e_a − e_b``, so at the
optimal K the residual's partial derivative is ``W^{1/2} s_e D_ek``, ``D_ek = U_k(a) − U_k(b)``
(potential drop over edge e in sample k, with U_k = [e_k; x_k] built from the *fitted* K, which
is not the harmonic extension when the data are noisy). Kaufman's Jacobian of the reduced residual
``ρ_k = P⊥_k b_k`` is ``J_k[:, e] = Q_{g,e} D_ek`` with ``Q_g = P⊥_g W_g^{1/2} S`` (S the incidence
columns s_e). Hence, summing samples group by group,

    Jᵀr[e]  = (1/m) Σ_g Q_{g,e}ᵀ R_g D_{g,e}          (R_g: residual columns of the group),
    JᵀJ     = (1/m) Σ_g (Q_gᵀ Q_g) ⊙ (D_g D_gᵀ),

and ∇f = 2 Jᵀr *exactly* (the term Kaufman drops is orthogonal to the residual, because
``A⁺ P⊥ = 0``). Everything is done in coordinates of an orthonormal basis ``Z_g`` of
range(A_g)^⊥, so that ``ρ_k = Z_gᵀ b_k`` has |M_k| entries; :class:`ReducedState` gives Z_g, and
with it the loss, K, Jᵀr and JᵀJ, in closed form from the harmonic extensions (no QR needed).

Levenberg–Marquardt then runs in θ = log γ (``J_θ = J diag γ``) from the best constant
conductivity for this very loss (closed form: A scales with a constant γ, so P⊥ does not change
and f(c·1) is a quadratic in c).

Accuracy on exact data (wave profile, measured): relative error ≤ 1e-11 for n ≤ 12 on ``full``
and ``last3n`` and for n ≤ 10 on ``sigma0`` except n = 8, where the sigma0 Jacobian of the wave
profile is nearly singular (cond ≈ 1.5e8): the data are fitted to rounding at an error of 4e-4.
On ``sigma0`` at n = 12 the loss reaches its rounding
floor (~1e-31) with an error of ≈ 8e-7: the loss is unweighted, so the small far-corner entries of
Λ that sigma0 relies on are resolved only to rounding relative to the large ones (the weighted
``ols`` misfit reaches 4e-10 there).

Stopping
--------
* ``converge``: until the step, the gradient or the loss is at rounding level (exact data), see
  :func:`discrete_eit.methods.levenberg_marquardt.levenberg_marquardt`.
* ``discrepancy`` (default when the noise level δ > 0 is known): stop at the first iterate with
  ``f(γ) <= τ² · ε²(γ)``, where ε² is the *expected reduced loss at the truth* under the noise
  model of MATH.md §3 (``Λ^δ = Λ + δ Λ ⊙ ξ``): at the true γ and its Green kernel the residual is
  ``ρ_k = −Z_gᵀ W^{1/2} [δ Λ_k ⊙ ξ_k; 0]``, so

      E f(γ†) = (λ δ² / m) Σ_k Σ_{i ∈ M_k} Λ_ik² (P⊥_k)_ii .

  It is evaluated with the data Λ^δ in place of Λ and the projector at the current iterate in
  place of the truth's (both differences are O(δ) relative). The per-entry factor (P⊥)_ii ∈ (0, 1]
  is the part of the boundary noise that no choice of K can absorb. (Checked by Monte Carlo in
  the tests: mean f(γ†) over noise draws = ε² within sampling error.)

  Measured (wave, full data, median of 5 seeds, τ = 1), relative error at δ = 1e-4 / 1e-3 / 1e-2:
  n = 6: 6.4e-3 / 4.4e-2 / 8.5e-2; n = 10: 6.1e-2 / 0.125 / 0.19. The best iterate on the path is
  about 2× better (n = 10: 2.4e-2 / 5.7e-2 / 0.135) and lies where f ≈ 0.11 ε², close to the
  minimum of f (≈ 0.107 ε²: the exact minimiser overfits, its error grows to O(1)). Like
  unweighted OLS, the NN loss is dominated by the large near-diagonal entries of Λ, so it reaches
  the noise level early; τ < 1 (e.g. 0.35: n = 10: 2.8e-2 / 7.6e-2 / 0.15) goes further but is
  tuning, not a principle.
"""

from __future__ import annotations

import numpy as np

from discrete_eit.problem.datasets import Dataset
from discrete_eit.problem.forward import check_gamma, kirchhoff_matrix, solve_forward
from discrete_eit.problem.jacobian import edge_differences

from .least_squares import HISTORY_COLUMNS, lm_options, lm_reconstruction, lm_settings, minimize_log_gamma
from .registry import Option, Reconstruction, register_method

# scipy is imported where it is used, not here: short CLI commands (generate, evaluate, cm)
# that never reach that code start without paying for it (see benchmarks/startup.py).


class _Group:
    """Samples sharing one column mask: their measured boundary rows and data (precomputed)."""

    def __init__(self, samples: np.ndarray, brows: np.ndarray, data: np.ndarray):
        self.samples = samples                      # (s,) columns k of Λ in this group
        self.brows = brows                          # (p,) measured boundary rows S_g, p = |M_k|
        self.data = data[np.ix_(brows, samples)]    # (p, s) measured Λ^δ[S_g, k]


class VarProModel:
    """The reduced NN loss ``f(γ) = min_K ℓ(γ, K)`` and its Gauss–Newton quantities.

    Parameters
    ----------
    dataset : measured data (partial masks allowed).
    lam : λ > 0, the weight of the boundary rows.

    Attributes
    ----------
    samples : (m,) the columns k of Λ that have at least one measured entry.
    m : number of samples.
    groups : samples grouped by identical column mask (one group for ``full``/``last3n``).
    """

    def __init__(self, dataset: Dataset, lam: float = 10.0):
        if not (np.isfinite(lam) and lam > 0):
            raise ValueError(f"nn_fast: lam must be finite and > 0, got {lam}")
        self.dataset = dataset
        self.lattice = dataset.lattice
        self.lam = float(lam)
        lat = self.lattice
        self.nb, self.N, self.ni = lat.n_boundary, lat.n_nodes, lat.n_interior
        mask = dataset.mask
        data = dataset.filled_dtn
        self.samples = np.flatnonzero(mask.any(axis=0))
        self.m = self.samples.size
        # Group the samples by their column mask (deterministic order: first occurrence).
        keys: dict[bytes, list[int]] = {}
        for k in self.samples:
            keys.setdefault(mask[:, k].tobytes(), []).append(int(k))
        self.groups = [_Group(np.asarray(ks), np.flatnonzero(mask[:, ks[0]]), data)
                       for ks in keys.values()]

    def state(self, gamma: np.ndarray) -> ReducedState:
        """Solve the K-problem at γ and return the reduced loss state."""
        gamma = check_gamma(self.lattice, gamma)
        return ReducedState(self, gamma)

    def best_constant(self) -> float:
        """argmin_c f(c·1), in closed form.

        For a constant γ = c·1 the harmonic extensions (hence every G_g) do not depend on c and
        ``Λ(c·1) = c Λ(1)``, so f is the quadratic ``(λ/m) Σ_k (cΛ₁ − Λ^δ)ᵀ G⁻¹ (cΛ₁ − Λ^δ)``.
        """
        import scipy.linalg as sla

        st = self.state(np.ones(self.lattice.n_edges))
        num = den = 0.0
        for grp, chol in zip(self.groups, st.chol, strict=True):
            lam1 = st.dtn[np.ix_(grp.brows, grp.samples)]
            num += np.sum(lam1 * sla.cho_solve(chol, grp.data))
            den += np.sum(lam1 * sla.cho_solve(chol, lam1))
        c = num / den
        if not (np.isfinite(c) and c > 0):
            raise ValueError(f"nn_fast: the best constant conductivity is not positive ({c:.3g}); "
                             "are the data a DtN map with the sign convention of MATH.md §2?")
        return float(c)


class ReducedState:
    """Reduced NN loss at one γ. Built by :meth:`VarProModel.state`.

    Elimination of K in closed form. Let ``U = [I; U_I]`` be the harmonic extensions
    (``U_I = −L_II⁻¹ L_IB``), ``V_g = U_I[:, S_g]`` (n²×p) and write the fitted interior potentials
    of sample k as ``x_k = U_I e_k + z_k``. Then ``r_I = L_II z_k`` and
    ``r_S = √λ (Λ(γ)[S,k] − Λ^δ[S,k] − V_gᵀ L_II z_k)``; minimising over ``y = L_II z_k`` gives

        y = λ V_g t_k,   t_k = G_g⁻¹ μ_k,   G_g = I_p + λ V_gᵀ V_g,   μ_k = (Λ(γ) − Λ^δ)[S_g, k],

    and the reduced loss is the generalised least-squares DtN misfit
    ``f(γ) = (λ/m) Σ_k μ_kᵀ G_g⁻¹ μ_k``. (Equivalently: an orthonormal basis of range(A_g)^⊥ is
    ``Z_g = [I_p; √λ V_g] C_g^{-T}`` with ``G_g = C_g C_gᵀ``; its boundary block gives
    ``(P⊥)_SS = G_g⁻¹``, and ``Zᵀ W^{1/2} s_e = √λ C_g⁻¹ D^h[e, S_g]ᵀ`` with ``D^h`` the edge drops of
    the harmonic extensions.) Hence, with D the edge drops of the *fitted* potentials
    ``U_k = [e_k; x_k]``,

        Jᵀr = (λ/m) Σ_k D_k ⊙ (D^h_S t_k),      JᵀJ = (λ/m) Σ_g (D^h_S G_g⁻¹ D^h_Sᵀ) ⊙ (D_g D_gᵀ),

    which is the ``(QᵀQ) ⊙ (DDᵀ)``, ``Q_eᵀ R D_e`` form of MATH.md §4. G_g ⪰ I, so every solve with
    it is well conditioned.

    Attributes
    ----------
    gamma : (E,) conductivities.
    dtn : (4n, 4n) Λ(γ).
    potentials : (N, 4n) harmonic extensions U.
    loss : f(γ) = min_K ℓ(γ, K).
    noise_factor : ε²/δ², the expected reduced loss at the truth per unit δ²:
        ``(λ/m) Σ_g Σ_{i∈S_g} (G_g⁻¹)_ii Σ_{k∈g} Λ^δ_ik²``.
    """

    def __init__(self, model: VarProModel, gamma: np.ndarray):
        import scipy.linalg as sla

        self.model = model
        self.gamma = gamma
        lam, nb = model.lam, model.nb
        self.forward = solve_forward(model.lattice, gamma)  # one factorisation of L_II per γ
        self.dtn = self.forward.dtn
        self.potentials = self.forward.potentials
        U_i = self.potentials[nb:]                   # (n², 4n)
        self.harmonic_drops = edge_differences(model.lattice, self.potentials)   # D^h, (E, 4n)
        self.chol, self.t, self.mu = [], [], []
        loss = noise = 0.0
        for grp in model.groups:
            V = U_i[:, grp.brows]
            G = np.eye(grp.brows.size) + lam * (V.T @ V)
            chol = sla.cho_factor(G, lower=True)
            mu = self.dtn[np.ix_(grp.brows, grp.samples)] - grp.data
            t = sla.cho_solve(chol, mu)
            loss += np.sum(mu * t)
            Ginv_diag = np.diag(sla.cho_solve(chol, np.eye(grp.brows.size)))
            noise += np.sum(Ginv_diag * np.sum(grp.data ** 2, axis=1))
            self.chol.append(chol)
            self.t.append(t)
            self.mu.append(mu)
        self.loss = float(lam * loss / model.m)
        self.noise_factor = float(lam * noise / model.m)

    def residual(self) -> np.ndarray:
        """The reduced residual r with ``f = ‖r‖²``: ``√(λ/m) C_g⁻¹ μ_g`` stacked over the groups.

        Shape (number of measured entries in kept columns,); its Kaufman Jacobian is what
        :meth:`gauss_newton` returns the normal equations of.
        """
        import scipy.linalg as sla

        scale = np.sqrt(self.model.lam / self.model.m)
        return np.concatenate([scale * sla.solve_triangular(c[0], mu, lower=True).ravel()
                               for c, mu in zip(self.chol, self.mu, strict=True)])

    def _interior_corrections(self) -> list[np.ndarray]:
        """Per group, ``z = λ L_II⁻¹ V t`` (n², s): fitted minus harmonic interior potentials.

        The fitted potentials' edge drops are the harmonic drops plus those of z (boundary nodes
        carry z = 0).
        """
        U_i = self.potentials[self.model.nb:]
        return [self.model.lam * self.forward.solve_interior(U_i[:, grp.brows] @ t)
                for grp, t in zip(self.model.groups, self.t, strict=True)]

    def kernel(self) -> np.ndarray:
        """(n², 4n) optimal first-layer weights K; NaN columns for dropped (unmeasured) samples."""
        mdl = self.model
        K = np.full((mdl.ni, mdl.nb), np.nan)
        U_i = self.potentials[mdl.nb:]
        for grp, z in zip(mdl.groups, self._interior_corrections(), strict=True):
            K[:, grp.samples] = U_i[:, grp.samples] + z
        return K

    def gauss_newton(self, scale: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(Jᵀr, JᵀJ)`` with respect to γ, shapes (E,) and (E, E); ∇f = 2 Jᵀr.

        r is the stacked reduced residual divided by √m, so that f = ‖r‖². With ``scale`` s (E,):
        ``(diag(s) Jᵀr, diag(s) JᵀJ diag(s))``, i.e. for the Jacobian ``J diag(s)``.
        """
        import scipy.linalg as sla

        mdl = self.model
        E = mdl.lattice.n_edges
        g = np.zeros(E)
        H = np.zeros((E, E))
        for grp, chol, t, D in zip(mdl.groups, self.chol, self.t, self._fitted_drops(), strict=True):
            DhS = self.harmonic_drops[:, grp.brows]                      # (E, p)
            g += np.sum(D * (DhS @ t), axis=1)
            H += (DhS @ sla.cho_solve(chol, DhS.T)) * (D @ D.T)
        g, H = mdl.lam * g / mdl.m, mdl.lam * H / mdl.m
        return (g, H) if scale is None else (scale * g, H * np.outer(scale, scale))

    def jacobian(self, scale: np.ndarray | None = None) -> np.ndarray:
        """Kaufman Jacobian of :meth:`residual` with respect to γ, shape (len(residual), E).

        Rows of sample k in group g: ``√(λ/m) C_g⁻¹ D^h[:, S_g]ᵀ · diag(D_k)``; same ordering as
        :meth:`residual` (row-major over (i ∈ S_g, k ∈ g) within each group). With ``scale`` s
        (E,): ``J diag(s)``.
        """
        import scipy.linalg as sla

        mdl = self.model
        weight = np.sqrt(mdl.lam / mdl.m)
        blocks = []
        for grp, chol, D in zip(mdl.groups, self.chol, self._fitted_drops(), strict=True):
            CinvDt = sla.solve_triangular(chol[0], self.harmonic_drops[:, grp.brows].T, lower=True)
            # entry (i, k) of the residual block -> row i * s + k
            blocks.append(weight * (CinvDt[:, None, :] * D.T[None, :, :]).reshape(-1, D.shape[0]))
        J = np.vstack(blocks)
        return J if scale is None else J * scale

    def _fitted_drops(self) -> list[np.ndarray]:
        """Per group, (E, s) edge drops ``D = U_a − U_b`` of the fitted potentials ``[e_k; x_k]``."""
        mdl = self.model
        a, b = mdl.lattice.edges.T
        out = []
        for grp, z in zip(mdl.groups, self._interior_corrections(), strict=True):
            zfull = np.vstack([np.zeros((mdl.nb, z.shape[1])), z])
            out.append(self.harmonic_drops[:, grp.samples] + (zfull[a] - zfull[b]))
        return out

    def gradient(self) -> np.ndarray:
        """(E,) exact gradient of the reduced loss f with respect to γ."""
        return 2.0 * self.gauss_newton()[0]


def nn_loss(dataset: Dataset, gamma: np.ndarray, K: np.ndarray, lam: float = 10.0) -> float:
    """The unreduced network loss ℓ(γ, K) of MATH.md §4 (reference implementation, for tests).

    Parameters
    ----------
    dataset : data with mask. gamma : (E,). K : (n², 4n) first-layer weights.
    """
    lat = dataset.lattice
    L = kirchhoff_matrix(lat, gamma).toarray()
    nb = lat.n_boundary
    keep = dataset.mask.any(axis=0)
    U = np.vstack([np.eye(nb), K])                                        # (N, 4n)
    R = L @ U
    rI = R[nb:][:, keep]
    rB = (R[:nb] - dataset.filled_dtn)[:, keep] * dataset.mask[:, keep]
    return float((np.sum(rI ** 2) + lam * np.sum(rB ** 2)) / keep.sum())


@register_method("nn_fast", options=(
    Option("lam", float, 10.0, "weight λ of the boundary (Neumann) rows of the NN loss", positive=True),
    *lm_options("discrepancy factor τ: stop when loss <= τ² × expected loss at the truth"),
    Option("init", str, "constant", "starting γ: best constant fit of the loss, or iid U(0.5, 1.5)",
           choices=("constant", "random")),
    Option("seed", int, 0, "seed of the random start (init=random)"),
), history_columns=HISTORY_COLUMNS)
def nn_fast(dataset: Dataset, lam: float = 10.0, max_iterations: int | None = None, tol: float = 1e-12,
            tau: float = 1.0, delta: float | None = None, stop: str = "auto", init: str = "constant",
            seed: int = 0, solver: str = "auto", acceleration: str = "auto") -> Reconstruction:
    """NN loss minimised by variable projection + Levenberg-Marquardt in log γ (fast, exact).

    Returns a :class:`Reconstruction` as :func:`~.least_squares.lm_reconstruction` builds it, plus
    ``arrays['kernel']`` (n², 4n), the fitted K at the final γ; ``info`` adds lam, samples, groups
    and init.
    """
    settings = lm_settings(dataset, "nn_fast", max_iterations=max_iterations, tol=tol, tau=tau,
                           delta=delta, stop=stop, solver=solver, acceleration=acceleration)
    model = VarProModel(dataset, lam)
    E = model.lattice.n_edges
    if init == "constant":
        theta0 = np.full(E, np.log(model.best_constant()))
    elif init == "random":
        theta0 = np.log(np.random.default_rng(seed).uniform(0.5, 1.5, E))
    else:
        raise ValueError(f"nn_fast: init must be 'constant' or 'random', got {init!r}")
    n_residuals = sum(grp.data.size for grp in model.groups)
    result = minimize_log_gamma(model.state, theta0, n_residuals, settings, dataset.gamma_true)
    final = model.state(np.exp(result.theta))
    return lm_reconstruction(result, dataset, settings,
                             {"lam": float(lam), "samples": int(model.m), "groups": len(model.groups),
                              "init": init},
                             {"kernel": final.kernel()})
