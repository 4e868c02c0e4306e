import numpy as np
import pytest

from discrete_eit import Lattice, conductivity_profile


@pytest.fixture
def random_gamma():
    """Factory: (lattice, γ ~ U[0.3, 1]) for a given n and seed."""
    def make(n: int, seed: int = 0):
        lattice = Lattice(n)
        return lattice, conductivity_profile("random", lattice, seed)
    return make


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
