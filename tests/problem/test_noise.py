"""Noise models (problem/noise.py, MATH.md §3): statistics on many draws, seeds, the default's bytes,
the dataset field and the errors for an unknown model."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from discrete_eit import conductivity_profile, generate_dataset
from discrete_eit.problem.forward import dtn_matrix
from discrete_eit.problem.lattice import Lattice
from discrete_eit.problem.noise import NOISE_MODELS, STUDENT_T_DOF, add_noise

DELTA = 1e-2


@pytest.fixture(scope="module")
def big():
    """A 300×300 symmetric 'Λ' with entries of both signs spanning four decades: 90 000 draws per seed."""
    rng = np.random.default_rng(99)
    m = rng.choice([-1.0, 1.0], (300, 300)) * 10.0 ** rng.uniform(-3, 1, (300, 300))
    return np.triu(m) + np.triu(m, 1).T


@pytest.fixture(scope="module")
def lam6():
    lattice = Lattice(6)
    return dtn_matrix(lattice, conductivity_profile("wave", lattice))


def todays_relative_noise(dtn, delta, seed, symmetric=False):
    """Verbatim copy of problem/noise.py's formula before the registry (commit 00c366e)."""
    xi = np.random.default_rng(seed).standard_normal(dtn.shape)
    if symmetric:
        xi = np.triu(xi) + np.triu(xi, 1).T
    return dtn + delta * dtn * xi


def test_registry_holds_the_four_models():
    assert {"relative", "additive", "student_t", "gain"} <= set(NOISE_MODELS)


@pytest.mark.parametrize("symmetric", [False, True])
def test_default_model_draws_the_same_bytes_as_before(lam6, symmetric):
    for seed, delta in ((0, 1e-3), (7, 1e-2), (123, 1e-5)):
        old = todays_relative_noise(lam6, delta, seed, symmetric)
        assert add_noise(lam6, delta, seed, symmetric=symmetric).tobytes() == old.tobytes()
        d = generate_dataset(conductivity_profile("wave", 6), 6, delta, seed, "last3n", symmetric)
        assert d.noise_model == "relative"
        assert np.array_equal(d.dtn[d.mask], old[d.mask])


@pytest.mark.parametrize("model", sorted(NOISE_MODELS))
def test_seeds_reproduce_and_differ_and_zero_delta_is_exact(lam6, model):
    a, b = add_noise(lam6, DELTA, 5, model), add_noise(lam6, DELTA, 5, model)
    assert a.tobytes() == b.tobytes()
    assert not np.array_equal(a, add_noise(lam6, DELTA, 6, model))
    assert np.array_equal(add_noise(lam6, 0.0, 5, model), lam6)
    sym = add_noise(lam6, DELTA, 5, model, symmetric=True)
    assert np.array_equal(sym, sym.T), "symmetric noise keeps a symmetric Λ symmetric"


def _z(big, model, seed=0, delta=DELTA):
    """The perturbation in the model's unit: relative ones / (δ Λ), additive / (δ max|Λ|)."""
    pert = add_noise(big, delta, seed, model) - big
    return (pert / (delta * np.abs(big).max()) if model == "additive" else pert / (delta * big)).ravel()


@pytest.mark.parametrize("model", ["relative", "additive"])
def test_gaussian_models_mean_scale_and_tails(big, model):
    z = np.concatenate([_z(big, model, seed) for seed in range(3)])   # 270 000 draws
    se = 1 / np.sqrt(z.size)
    assert abs(z.mean()) < 5 * se
    assert abs(z.std() - 1) < 0.01
    assert abs(stats.kurtosis(z, fisher=False) - 3) < 0.1
    assert stats.kstest(z, "norm").pvalue > 1e-3


def test_additive_scale_does_not_follow_the_entry(big):
    pert = add_noise(big, DELTA, 0, "additive") - big
    small, large = np.abs(big) < 1e-2, np.abs(big) > 1
    s = DELTA * np.abs(big).max()
    assert abs(pert[small].std() / s - 1) < 0.03 and abs(pert[large].std() / s - 1) < 0.03


def test_student_t_unit_variance_and_heavy_tails(big):
    z = np.concatenate([_z(big, "student_t", seed) for seed in range(12)])   # 1.08e6 draws
    nu = STUDENT_T_DOF
    assert abs(np.median(z)) < 5 / np.sqrt(z.size)
    assert abs(z.std() - 1) < 0.1, "unit variance (slow to converge: t3 has no 4th moment)"
    assert stats.kurtosis(z, fisher=False) > 6, "clearly heavier tails than a Gaussian (3)"
    assert stats.kstest(z * np.sqrt(nu / (nu - 2)), "t", args=(nu,)).pvalue > 1e-3
    tail = np.mean(np.abs(z) > 4)   # a Gaussian puts 6.3e-5 beyond 4σ, t3 / √3 about 8e-3
    assert abs(tail / (2 * stats.t.sf(4 * np.sqrt(3), nu)) - 1) < 0.05


def test_gain_is_exactly_a_row_and_column_scaling(big, lam6):
    for sym in (False, True):
        ratio = add_noise(lam6, 0.1, 3, "gain", symmetric=sym) / lam6
        s = np.linalg.svd(ratio, compute_uv=False)
        assert s[1] / s[0] < 1e-14, "Λ^δ / Λ = (1 + δa)(1 + δb)ᵀ has rank 1"
        u = ratio[:, 0] / ratio[0, 0]
        v = ratio[0, :]
        assert np.allclose(ratio, np.outer(u, v), rtol=1e-13, atol=0)
    sym = add_noise(lam6, 0.1, 3, "gain", symmetric=True) / lam6
    assert np.allclose(np.diag(sym), sym[0, :] ** 2 / sym[0, 0], rtol=1e-13), "b = a when symmetric"


def test_gain_statistics(big):
    r = np.stack([(add_noise(big, DELTA, seed, "gain") / big - 1) / DELTA for seed in range(200)])
    assert abs(r.mean()) < 5 * np.sqrt(2 / (200 * 300))    # a, b: 200 draws × 300 electrodes each
    assert abs(r.std() / np.sqrt(2 + DELTA ** 2) - 1) < 0.03
    # entries sharing a measuring electrode share its gain: correlation 1/2 along a row, 0 otherwise
    assert abs(np.corrcoef(r[:, 0, 0], r[:, 0, 1])[0, 1] - 0.5) < 0.15
    assert abs(np.corrcoef(r[:, 0, 0], r[:, 1, 1])[0, 1]) < 0.2


def test_noise_model_is_a_dataset_field(tmp_path):
    from discrete_eit.artifacts.formats import load_dataset, save_dataset
    from discrete_eit.problem.datasets import METADATA_FIELDS

    assert METADATA_FIELDS["noise_model"] is str
    d = generate_dataset(conductivity_profile("wave", 3), 3, 1e-3, 2, noise_model="gain")
    save_dataset(tmp_path / "d.npz", d, {})
    back = load_dataset(tmp_path / "d.npz")
    assert back.noise_model == "gain" and np.array_equal(back.dtn, d.dtn)
    with np.load(tmp_path / "d.npz") as z:
        assert str(z["noise_model"]) == "gain"


def test_unknown_model_names_the_parameter_the_flag_and_the_file(tmp_path, capsys):
    from discrete_eit.artifacts.formats import load_dataset, npz_bytes
    from discrete_eit.cli import main

    with pytest.raises(ValueError, match=r"^noise_model: unknown noise model 'pink'; known: additive, gain"):
        generate_dataset(conductivity_profile("wave", 3), 3, 1e-3, noise_model="pink")
    out = tmp_path / "d.npz"
    with pytest.raises(SystemExit) as exc:
        main(["generate", "--n", "3", "--noise-model", "pink", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and len(err.splitlines()) == 1 and "--noise-model" in err and "'pink'" in err
    assert not out.exists()
    good = generate_dataset(conductivity_profile("wave", 3), 3)
    arrays = {"dtn": good.dtn, "mask": good.mask, "n": np.int64(3), "noise_model": np.array("pink")}
    (tmp_path / "bad.npz").write_bytes(npz_bytes(arrays))
    with pytest.raises(ValueError, match=r"bad\.npz: unknown noise model 'pink'"):
        load_dataset(tmp_path / "bad.npz")


def test_stop_auto_uses_the_discrepancy_only_for_the_relative_model(caplog):
    from discrete_eit.methods.least_squares import lm_settings

    kw = dict(max_iterations=5, tol=1e-12, tau=1.0, delta=None, stop="auto", solver="auto",
              acceleration="auto")
    g = conductivity_profile("wave", 3)
    assert lm_settings(generate_dataset(g, 3, 1e-3), "ols", **kw).stop == "discrepancy"
    for model in ("additive", "student_t", "gain"):
        caplog.clear()
        assert lm_settings(generate_dataset(g, 3, 1e-3, noise_model=model), "ols", **kw).stop == "converge"
        assert f"noise model '{model}': stop=auto converges" in caplog.text
