"""The fused numba kernel of method ``nn`` against the torch path (the speed work's must-show).

Same problems on both backends — full and partial data, a fixed edge, batches of different
problems — compared at the same (γ, K) (loss and gradients to 1e-12), along trajectories (1e-9 over
100 iterations), in the schedule's events (step drops, β changes, stop rules, freezing: identical),
and in the accuracy reached on exact data. Plus the kernel's own guarantees: bit-reproducible,
independent of the batch and of how the run is chunked.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("numba")

from discrete_eit import Lattice, conductivity_profile, generate_dataset  # noqa: E402
from discrete_eit.methods.nn import kernel  # noqa: E402
from discrete_eit.methods.nn.kernel_trainer import KernelTrainer  # noqa: E402
from discrete_eit.methods.nn.layout import dirichlet_grid, grid_data, kernel_to_grid  # noqa: E402
from discrete_eit.methods.nn.loss import loss_and_grad  # noqa: E402
from discrete_eit.methods.nn.model import InterpretableNet, train_reference  # noqa: E402
from discrete_eit.methods.nn.schedule import Schedule  # noqa: E402
from discrete_eit.methods.nn.trainer import FastTrainer  # noqa: E402
from discrete_eit.methods.nn.training import initial_gamma, resolve_backend  # noqa: E402
from discrete_eit.methods.registry import reconstruct  # noqa: E402

#: Relative ℓ² γ-error of the torch path (compiled, CPU) after the default 2·10⁵ iterations on
#: exact wave data at n = 6, measured by ``python benchmarks/nn_torch_reference.py`` (too slow to
#: recompute here: ≈ 25 s plus the compile; the numba run of the test takes ≈ 2 s). The same
#: script measured 2.62e-7 for the numba backend (2026-12, numba 0.68.1, torch 2.13.0).
TORCH_ERROR_N6 = 2.347e-7


pytestmark = pytest.mark.usefixtures("one_torch_thread")   # one thread, like the kernel


def _rel(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


def _fixed(ds, edges=(5,)):
    """A fixed-edge mask and values (the true conductivities) for every problem of ``ds``."""
    E = ds[0].lattice.n_edges
    mask = np.zeros((len(ds), E), dtype=bool)
    mask[:, list(edges)] = True
    return mask, np.stack([d.gamma_true for d in ds])


def _pair(ds, sched, **kw):
    """The torch (eager) and the numba trainer on the same problems, same γ₀."""
    g0 = initial_gamma(ds[0].lattice.n_edges, 0)
    return FastTrainer(ds, g0, sched, **kw), KernelTrainer(ds, g0, sched, **kw)


def test_loss_and_gradients_equal_the_torch_path(nn_datasets):
    n = 4
    ds = nn_datasets(n)
    lat = Lattice(n)
    rng = np.random.default_rng(5)
    B, S = len(ds), lat.n_boundary
    gamma = rng.uniform(0.5, 1.5, (B, lat.n_edges))
    Kg = kernel_to_grid(0.3 * rng.standard_normal((B, n * n, S)), n)
    grids = [grid_data(d, 3.0) for d in ds]
    psi, weight = np.stack([g.psi for g in grids]), np.stack([g.weight for g in grids])
    V = np.repeat(dirichlet_grid(lat)[None], B, axis=0)
    V[:, 1:-1, 1:-1] = Kg
    bnd = kernel.boundary_table(lat.boundary_points, n)
    loss, gg, gK = kernel.loss_grad(n, gamma, V, psi, weight, bnd)
    ref = loss_and_grad(torch.as_tensor(gamma), torch.as_tensor(Kg),
                        torch.as_tensor(dirichlet_grid(lat, ghost=1)[None]), torch.as_tensor(psi),
                        torch.as_tensor(weight), n)
    for b in range(B):  # per problem: the scales differ between exact and noisy data
        assert _rel(loss[b], ref[0][b].numpy()) <= 1e-12
        assert _rel(gg[b], ref[1][b].numpy()) <= 1e-12
        assert _rel(gK[b], ref[2][b].numpy()) <= 1e-12
    assert np.array_equal(kernel.losses(n, gamma, V, psi, weight, bnd), loss)


def test_trajectories_equal_the_torch_path_over_100_iterations(nn_datasets):
    """Full and partial data, a fixed edge and a box, a batch of four different problems."""
    ds = nn_datasets(4)
    fixed, values = _fixed(ds)
    ft, kt = _pair(ds, Schedule(), lower=0.3, upper=1.7, fixed=fixed, fixed_values=values)
    rt = ft.run(100, log_every=1, progress=0)
    rk = kt.run(100, log_every=1, progress=0)
    for a, b, d in zip(rk, rt, ds, strict=True):
        assert _rel(a.history["loss"], b.history["loss"]) <= 1e-9
        assert _rel(a.gamma, b.gamma) <= 1e-9
        assert _rel(a.kernel, b.kernel) <= 1e-9
        assert a.gamma[5] == d.gamma_true[5]  # the fixed edge
        assert a.final_loss == pytest.approx(b.final_loss, rel=1e-9)


@pytest.mark.parametrize("stop", ["budget", "first-drop", "min-step"])
def test_schedule_events_equal_the_torch_path(stop, nn_datasets):
    """Small patience and a large threshold force drops, the β changes and the stop rules; the
    problems stop at different iterations (freezing). Every event lands on the same iteration."""
    ds = nn_datasets(3)
    sched = Schedule(patience=10, threshold=0.1, min_lr=2e-6, stop=stop)
    ft, kt = _pair(ds, sched)
    rt = ft.run(600, log_every=1, progress=0)
    rk = kt.run(600, log_every=1, progress=0)
    for a, b in zip(rk, rt, strict=True):
        assert (a.iterations, a.stop_reason, a.drops) == (b.iterations, b.stop_reason, b.drops)
        assert np.array_equal(a.history["iteration"], b.history["iteration"])
        assert np.array_equal(a.history["step"], b.history["step"])  # the drops, to the iteration
        assert _rel(a.gamma, b.gamma) <= 1e-6
    if stop == "budget":
        assert min(r.drops for r in rk) >= 3  # the betas went through the whole schedule
    else:
        assert all(r.stop_reason == stop for r in rk)
        assert len({r.iterations for r in rk}) > 1  # frozen at different iterations
    assert np.array_equal(kt.drops, ft.state.drops.numpy())
    assert np.array_equal(kt.active, ft.state.active.numpy())


@pytest.mark.parametrize(("betas", "moments"), [("authors", "keep"), ("paper", "reset"),
                                                ("authors", "reset")])
def test_named_schedules_agree_with_torch_optim(betas, moments, nn_datasets):
    """The β schedules and the moment rule: torch.optim.Adam (+ ReduceLROnPlateau, betas edited
    in param_groups, state cleared for a reset) == the torch fast path == the kernel."""
    d = nn_datasets(3)[1]
    g0 = initial_gamma(d.lattice.n_edges, 0)
    sched = Schedule(patience=10, threshold=0.1, min_lr=2e-6, factor=0.5, betas=betas,
                     moments=moments)
    iters = 300
    ref = train_reference(InterpretableNet([d], g0), iters, sched)
    rt = FastTrainer([d], g0, sched).run(iters, log_every=1, progress=0)[0]
    rk = KernelTrainer([d], g0, sched).run(iters, log_every=1, progress=0)[0]
    assert rk.drops >= 3  # through the whole β schedule
    assert np.array_equal(rk.history["step"], rt.history["step"])
    for r in (rt, rk):
        np.testing.assert_allclose(r.history["loss"][:iters], ref, rtol=1e-9)
    # the rules differ where they should: a reset changes the trajectory after the first drop
    other = KernelTrainer([d], g0, Schedule(patience=10, threshold=0.1, min_lr=2e-6, factor=0.5,
                                            betas=betas, moments="keep" if moments == "reset"
                                            else "reset")).run(iters, log_every=1, progress=0)[0]
    assert not np.array_equal(other.history["loss"], rk.history["loss"])


def test_bit_reproducible_and_independent_of_batch_and_chunking(nn_datasets):
    ds = nn_datasets(3)
    g0 = initial_gamma(ds[0].lattice.n_edges, 1)
    sched = Schedule(patience=50)
    a = KernelTrainer(ds, g0, sched).run(1500, log_every=100, progress=0)
    b = KernelTrainer(ds, g0, sched).run(1500, log_every=100, progress=0)
    alone = KernelTrainer(ds[2:], g0, sched).run(1500, log_every=100, progress=0)[0]
    fine = KernelTrainer(ds, g0, sched).run(1500, log_every=1, progress=0)
    for ra, rb, rf in zip(a, b, fine, strict=True):
        assert np.array_equal(ra.gamma, rb.gamma) and np.array_equal(ra.kernel, rb.kernel)
        for key in ra.history:
            assert np.array_equal(ra.history[key], rb.history[key])
        assert np.array_equal(ra.gamma, rf.gamma)  # chunks of 1 iteration: the same numbers
        assert np.array_equal(ra.history["loss"], rf.history["loss"][::100])
    assert np.array_equal(alone.gamma, a[2].gamma)
    assert np.array_equal(alone.history["loss"], a[2].history["loss"])


def test_method_options_select_the_backend(nn_datasets):
    d = nn_datasets(3)[1]
    opts = {"iterations": 200, "progress": 0.0, "log_every": 50}
    rn = reconstruct("nn", d, **opts)
    rt = reconstruct("nn", d, backend="torch", device="cpu", compile="off", **opts)
    assert (rn.info["backend"], rn.info["device"], rn.info["compiled"]) == ("numba", "cpu", True)
    assert (rt.info["backend"], rt.info["device"], rt.info["compiled"]) == ("torch", "cpu", False)
    assert set(rn.info) == set(rt.info)  # one result structure for both backends
    assert _rel(rn.gamma, rt.gamma) <= 1e-9
    np.testing.assert_allclose(rn.arrays["history"], rt.arrays["history"], rtol=1e-9)
    assert rn.info["compile_time_s"] >= 0 and rn.info["us_per_problem_iteration"] > 0


def test_resolve_backend():
    has_cuda = torch.cuda.is_available()
    assert resolve_backend("auto", "cpu") == ("numba", "cpu")
    assert resolve_backend("torch", "cpu") == ("torch", "cpu")
    assert resolve_backend("numba", "auto") == ("numba", "cpu")
    assert resolve_backend("auto", "auto") == (("torch", "cuda") if has_cuda else ("numba", "cpu"))
    with pytest.raises(ValueError, match="backend numba runs on the CPU"):
        resolve_backend("numba", "cuda")
    with pytest.raises(ValueError, match="backend must be"):
        resolve_backend("jax", "cpu")
    if not has_cuda:
        with pytest.raises(ValueError, match="no CUDA device"):
            resolve_backend("auto", "cuda")


def test_option_checks_import_neither_numba_nor_torch():
    code = ("import sys; import discrete_eit.methods.nn; from discrete_eit.methods.registry import "
            "get_method; get_method('nn').resolve_options({'backend': 'numba'}); "
            "print('torch' in sys.modules, 'numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_exact_data_accuracy_class_of_the_torch_path():
    """n = 6, exact data, the default 2·10⁵ iterations: within a factor 3 of the torch path."""
    assert TORCH_ERROR_N6 is not None
    n = 6
    d = generate_dataset(conductivity_profile("wave", n), n, 0.0)
    r = reconstruct("nn", d, backend="numba", progress=0.0, log_every=10_000)
    err = r.info["relative_error"]
    assert TORCH_ERROR_N6 / 3 <= err <= 3 * TORCH_ERROR_N6, err
