"""Fixtures of the methods' tests."""

import numpy as np
import pytest

from discrete_eit import conductivity_profile, generate_dataset


@pytest.fixture
def rel_err():
    """Relative ℓ² error ‖γ − γ†‖ / ‖γ†‖ of a reconstruction."""
    def rel(gamma, truth):
        return np.linalg.norm(gamma - truth) / np.linalg.norm(truth)
    return rel


@pytest.fixture
def nn_datasets():
    """Factory: different problems of one n (wave profile) for the network's tests: exact full, noisy
    full, noisy partial (last3n drops n samples), and a column-sparse set (sigma0)."""
    def make(n: int):
        g = conductivity_profile("wave", n)
        return [generate_dataset(g, n, 0.0), generate_dataset(g, n, 1e-2, seed=1),
                generate_dataset(g, n, 1e-2, seed=2, partial_set="last3n"),
                generate_dataset(g, n, 0.0, partial_set="sigma0")]
    return make


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module's tests (fast on the shared 2-core test machines); restored after."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
