"""The interpretable network (method ``nn``): loss, gradients, Adam schedule, batching, options."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from discrete_eit import Dataset, Lattice, conductivity_profile, generate_dataset  # noqa: E402
from discrete_eit.methods.nn.layout import (  # noqa: E402
    dirichlet_grid,
    grid_data,
    grid_to_kernel,
    kernel_to_grid,
    true_kernel,
)
from discrete_eit.methods.nn.loss import loss_and_grad  # noqa: E402
from discrete_eit.methods.nn.model import InterpretableNet, train_reference  # noqa: E402
from discrete_eit.methods.nn.schedule import ADAM_STOP_RULES, Schedule, TrainState  # noqa: E402
from discrete_eit.methods.nn.trainer import FastTrainer, initial_gamma  # noqa: E402
from discrete_eit.methods.registry import get_method, reconstruct, reconstruct_many  # noqa: E402
from discrete_eit.problem.edge_sets import fixed_edge_indices, parse_fixed_edges  # noqa: E402
from discrete_eit.problem.forward import kirchhoff_matrix  # noqa: E402

# Small, fast settings for the option tests (eager: no compilation cost).
QUICK = {"compile": "off", "progress": 0.0, "device": "cpu"}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _fast_loss(datasets, gamma, K, lam=10.0):
    n = datasets[0].n
    grids = [grid_data(d, lam) for d in datasets]
    psi = torch.as_tensor(np.stack([g.psi for g in grids]))
    weight = torch.as_tensor(np.stack([g.weight for g in grids]))
    dirichlet = torch.as_tensor(dirichlet_grid(Lattice(n), ghost=1)[None])
    Kg = kernel_to_grid(torch.as_tensor(K), n)
    loss, gg, gK = loss_and_grad(torch.as_tensor(gamma), Kg, dirichlet, psi, weight, n)
    return loss.numpy(), gg.numpy(), grid_to_kernel(gK, n).numpy()


def _numpy_loss(d: Dataset, gamma, K, lam=10.0) -> float:
    """MATH.md §4 written out literally with the sparse Kirchhoff matrix."""
    lat = Lattice(d.n)
    L = kirchhoff_matrix(lat, gamma).toarray()
    nb = lat.n_boundary
    total, m = 0.0, 0
    for k in range(nb):
        Mk = d.mask[:, k]
        if not Mk.any():
            continue  # a sample with no measured entry is dropped
        m += 1
        U = np.concatenate([np.eye(nb)[:, k], K[:, k]])
        LU = L @ U
        r_B = LU[:nb] - np.where(Mk, d.dtn[:, k], 0.0)
        total += np.sum(LU[nb:] ** 2) + lam * np.sum((Mk * r_B) ** 2)
    return total / m


def test_loss_matches_definition_and_drops_empty_samples(nn_datasets):
    n = 3
    ds = nn_datasets(n)
    lat = Lattice(n)
    rng = np.random.default_rng(0)
    gamma = rng.uniform(0.5, 1.5, (len(ds), lat.n_edges))
    K = rng.standard_normal((len(ds), n * n, 4 * n))
    want = [_numpy_loss(d, gamma[b], K[b], lam=3.0) for b, d in enumerate(ds)]
    fast, _, _ = _fast_loss(ds, gamma, K, lam=3.0)
    net = InterpretableNet(ds, gamma, lam=3.0, lower=0.0)
    with torch.no_grad():
        net.K.copy_(torch.as_tensor(K))
        ref = net().numpy()
    np.testing.assert_allclose(fast, want, rtol=1e-12)
    np.testing.assert_allclose(ref, want, rtol=1e-12)
    # last3n has n empty columns: they are dropped (m = 3n), not counted as zero residuals
    assert grid_data(ds[2], 10.0).active.sum() == 3 * n


def test_loss_vanishes_at_the_truth_on_exact_data():
    n = 4
    lat = Lattice(n)
    g = conductivity_profile("wave", n)
    ds = [generate_dataset(g, n, 0.0), generate_dataset(g, n, 0.0, partial_set="last3n")]
    K = np.stack([true_kernel(lat, g)] * 2)
    loss, gg, gK = _fast_loss(ds, np.stack([g, g]), K)
    assert np.all(loss < 1e-25)
    assert np.abs(gg).max() < 1e-12 and np.abs(gK).max() < 1e-12


def test_gradient_equals_central_differences(nn_datasets):
    n = 3
    ds = nn_datasets(n)[1:3]  # noisy full and noisy partial
    lat = Lattice(n)
    rng = np.random.default_rng(1)
    gamma = rng.uniform(0.5, 1.5, (2, lat.n_edges))
    K = 0.3 * rng.standard_normal((2, n * n, 4 * n))
    _, gg, gK = _fast_loss(ds, gamma, K)
    h = 1e-6

    def loss_at(gm, Km):
        return _fast_loss(ds, gm, Km)[0]

    for e in range(lat.n_edges):
        d = np.zeros_like(gamma)
        d[:, e] = h
        fd = (loss_at(gamma + d, K) - loss_at(gamma - d, K)) / (2 * h)
        np.testing.assert_allclose(gg[:, e], fd, rtol=1e-6, atol=1e-8)
    for i, k in zip(rng.integers(0, n * n, 25), rng.integers(0, 4 * n, 25), strict=True):
        d = np.zeros_like(K)
        d[:, i, k] = h
        fd = (loss_at(gamma, K + d) - loss_at(gamma, K - d)) / (2 * h)
        np.testing.assert_allclose(gK[:, i, k], fd, rtol=1e-6, atol=1e-8)


def test_hand_gradient_equals_autograd(nn_datasets):
    n = 4
    ds = nn_datasets(n)
    lat = Lattice(n)
    rng = np.random.default_rng(2)
    gamma = rng.uniform(0.5, 1.5, (len(ds), lat.n_edges))
    K = rng.standard_normal((len(ds), n * n, 4 * n))
    net = InterpretableNet(ds, gamma)
    with torch.no_grad():
        net.K.copy_(torch.as_tensor(K))
    loss = net()
    loss.sum().backward()
    fast, gg, gK = _fast_loss(ds, gamma, K)
    np.testing.assert_allclose(fast, loss.detach().numpy(), rtol=1e-13)
    scale_g, scale_K = np.abs(gg).max(), np.abs(gK).max()
    np.testing.assert_allclose(gg, net.gamma.grad.numpy(), rtol=0, atol=1e-13 * scale_g)
    np.testing.assert_allclose(gK, net.K.grad.numpy(), rtol=0, atol=1e-13 * scale_K)


def test_fast_trainer_follows_torch_adam_and_plateau_schedule(nn_datasets):
    """Hand-written Adam + plateau rule + beta changes == torch.optim.Adam + ReduceLROnPlateau."""
    n = 3
    d = nn_datasets(n)[1]
    g0 = initial_gamma(Lattice(n).n_edges, 0)
    # a short patience and a large threshold force several step drops within the run
    sched = Schedule(patience=10, threshold=0.1, min_lr=2e-6)
    iters = 400
    net = InterpretableNet([d], g0)
    ref_losses = train_reference(net, iters, sched)
    res = FastTrainer([d], g0, sched).run(iters, log_every=1, progress=0)[0]
    assert res.drops >= 3  # the betas went through the whole schedule
    np.testing.assert_allclose(res.history["loss"][:iters], ref_losses, rtol=1e-9)
    np.testing.assert_allclose(res.gamma, net.gamma.detach().numpy()[0], rtol=1e-9)
    np.testing.assert_allclose(res.kernel, net.K.detach().numpy()[0], rtol=1e-7, atol=1e-12)


def test_training_state_is_named(nn_datasets):
    """The trainer's state is a TrainState (read by field name) before and after training."""
    d = nn_datasets(3)[1]
    tr = FastTrainer([d], initial_gamma(Lattice(3).n_edges, 0))
    assert isinstance(tr.state, TrainState) and tr.state.t.item() == 0 and tr.state.active.all()
    tr.run(7, progress=0)
    assert isinstance(tr.state, TrainState)
    assert tr.state.t.item() == 7 and tr.state.kernel.shape == (1, 3, 3, 12)


def test_same_seed_gives_identical_gamma(nn_datasets):
    d = nn_datasets(3)[1]
    a = reconstruct("nn", d, iterations=500, seed=7, **QUICK)
    b = reconstruct("nn", d, iterations=500, seed=7, **QUICK)
    c = reconstruct("nn", d, iterations=500, seed=8, **QUICK)
    assert np.array_equal(a.gamma, b.gamma)
    assert np.array_equal(a.arrays["history"], b.arrays["history"])
    assert not np.array_equal(a.gamma, c.gamma)


def test_same_seed_gives_identical_gamma_compiled(nn_datasets):
    """The workflow's default path (backend auto: the numba kernel on a CPU, torch.compile on CUDA;
    batched): same seed ⇒ bit-identical γ and history."""
    ds = nn_datasets(3)
    opts = dict(iterations=800, seed=3, compile="auto", progress=0.0, log_every=100)
    a = reconstruct_many("nn", ds, **opts)
    b = reconstruct_many("nn", ds, **opts)
    assert all(r.info["compiled"] for r in a), [r.info for r in a]
    for ra, rb in zip(a, b, strict=True):
        assert np.array_equal(ra.gamma, rb.gamma)
        assert np.array_equal(ra.arrays["history"], rb.arrays["history"])


def test_problem_result_does_not_depend_on_its_batch(nn_datasets):
    ds = nn_datasets(3)
    opts = dict(iterations=1500, patience=50, **QUICK)
    alone = reconstruct_many("nn", [ds[2]], **opts)[0]
    batch = reconstruct_many("nn", ds, **opts)
    assert np.array_equal(alone.gamma, batch[2].gamma)
    assert np.array_equal(alone.arrays["history"], batch[2].arrays["history"])
    assert alone.info["step_drops"] == batch[2].info["step_drops"]


def test_fixed_edges_and_box_constraints(nn_datasets):
    d = nn_datasets(3)[1]
    g = d.gamma_true
    r = reconstruct("nn", d, iterations=300, fixed_edges="5,7=0.8", gamma_min=0.45, gamma_max=0.95,
                    **QUICK)
    assert r.gamma[5] == g[5] and r.gamma[7] == 0.8
    free = np.delete(r.gamma, [5, 7])
    assert free.min() >= 0.45 and free.max() <= 0.95
    assert r.info["fixed_edges"] == [5, 7]
    free0 = reconstruct("nn", d, iterations=300, **QUICK)
    assert free0.gamma[5] != g[5]


def test_parse_fixed_edges():
    lat = Lattice(3)
    g = conductivity_profile("wave", 3)
    mask, values = parse_fixed_edges("spikes, 0=2.5", lat, g)
    assert mask.sum() == 4 * 3 + (0 not in lat.spike_edges)
    assert values[0] == 2.5 and values[lat.spike_edges[1]] == g[lat.spike_edges[1]]
    assert parse_fixed_edges("", lat, None) is None
    with pytest.raises(ValueError, match="gamma_true"):
        parse_fixed_edges("3", lat, None)
    with pytest.raises(ValueError, match="out of range"):
        parse_fixed_edges(f"{lat.n_edges}=1", lat, g)
    with pytest.raises(ValueError, match="expected"):
        parse_fixed_edges("centre", lat, g)
    with pytest.raises(ValueError, match="finite"):
        parse_fixed_edges("2=abc", lat, g)


@pytest.mark.parametrize("spec", ["9", " 9 , 3=0.7", "ring,9", "spikes, 0=2.5", ""])
def test_fixed_edge_indices_agree_with_the_parser(spec):
    """The workflow's marks and region table use the indices of the very spec the method parses."""
    lat = Lattice(4)
    parsed = parse_fixed_edges(spec, lat, conductivity_profile("wave", 4))
    expected = np.flatnonzero(parsed[0]) if parsed is not None else np.empty(0, int)
    assert np.array_equal(fixed_edge_indices(spec, lat), expected)


def test_partial_data_dropped_samples_keep_zero_kernel(nn_datasets):
    n = 3
    d = nn_datasets(n)[2]  # last3n: the first n experiments measure nothing
    r = reconstruct("nn", d, iterations=300, **QUICK)
    K = r.arrays["kernel"]
    assert K.shape == (n * n, 4 * n)
    assert np.all(K[:, :n] == 0) and np.all(np.abs(K[:, n:]).sum(axis=0) > 0)


def test_stop_rules_and_history(nn_datasets):
    d = nn_datasets(3)[1]
    budget = reconstruct("nn", d, iterations=1200, log_every=100, **QUICK)
    assert budget.info["stop_reason"] == "budget" and budget.info["iterations"] == 1200
    h = budget.arrays["history"]
    assert budget.info["history_columns"] == ["iteration", "loss", "step", "gamma_error"]
    np.testing.assert_array_equal(h[:, 0], np.arange(0, 1201, 100))
    assert h[-1, 1] == budget.info["final_loss"]
    assert h[-1, 3] == pytest.approx(budget.info["relative_error"], rel=1e-12)

    first = reconstruct("nn", d, iterations=5000, stop="first-drop", patience=20, threshold=0.05,
                        **QUICK)
    assert first.info["stop_reason"] == "first-drop" and first.info["step_drops"] == 1
    assert first.info["iterations"] < 5000
    assert first.arrays["history"][-1, 0] == first.info["iterations"]

    low = reconstruct("nn", d, iterations=5000, stop="min-step", patience=20, threshold=0.05,
                      min_lr=2e-5, **QUICK)
    assert low.info["stop_reason"] == "min-step" and low.info["iterations"] < 5000
    assert low.info["final_step"] == pytest.approx(2e-5) and low.info["step_drops"] == 2


def test_batch_members_stop_independently(nn_datasets):
    ds = nn_datasets(3)[:2]
    rs = reconstruct_many("nn", ds, iterations=5000, stop="first-drop", patience=20, threshold=0.05,
                          **QUICK)
    alone = [reconstruct("nn", d, iterations=5000, stop="first-drop", patience=20, threshold=0.05,
                         **QUICK) for d in ds]
    for r, a in zip(rs, alone, strict=True):
        assert r.info["iterations"] == a.info["iterations"]
        assert np.array_equal(r.gamma, a.gamma)


def test_compile_failure_falls_back_to_eager(monkeypatch, nn_datasets):
    def broken(*args, **kwargs):
        raise RuntimeError("no compiler here")

    monkeypatch.setattr(torch, "compile", broken)
    d = nn_datasets(3)[1]
    with pytest.warns(RuntimeWarning, match="eager"):
        tr = FastTrainer([d], initial_gamma(Lattice(3).n_edges, 0), compile="auto")
    assert not tr.compiled
    with pytest.raises(RuntimeError, match="no compiler"):
        FastTrainer([d], initial_gamma(Lattice(3).n_edges, 0), compile="on")


def test_method_module_does_not_import_torch():
    """The registry imports every method at start-up: ``nn`` must not pull torch in with it."""
    code = ("import sys; import discrete_eit.methods.nn; from discrete_eit.methods.registry import "
            "get_method; get_method('nn'); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_method_registration():
    m = get_method("nn")
    assert m.batched
    opts = m.resolve_options({})
    assert opts["lam"] == 10.0 and opts["lr"] == 2e-3 and opts["stop"] == "budget"
    with pytest.raises(ValueError, match="stop"):
        m.resolve_options({"stop": "never"})
    assert {o.name: o for o in m.options}["stop"].choices == ADAM_STOP_RULES


@pytest.mark.slow
def test_exact_data_n6_reaches_1e6():
    """MATH.md §4: n = 6 exact data, the paper configuration reaches ≈ 6e-8 after 2e5 iterations."""
    n = 6
    d = generate_dataset(conductivity_profile("wave", n), n, 0.0)
    r = reconstruct("nn", d, iterations=200_000, log_every=10_000, compile="auto", progress=0.0)
    assert r.info["relative_error"] <= 1e-6, r.info
