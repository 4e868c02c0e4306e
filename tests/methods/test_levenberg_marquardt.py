"""Tests of the Levenberg–Marquardt loop (methods/levenberg_marquardt.py) on its own.

The loop is shared by ``nn_fast`` and ``ols`` and knows nothing of the problem: it is tested on the
Rosenbrock function, with each kind of step (normal equations, Jacobian SVD, SVD with geodesic
acceleration).
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import discrete_eit.methods.levenberg_marquardt as lm
from discrete_eit.methods.levenberg_marquardt import (
    Evaluation,
    JacobianSVD,
    NormalEquations,
    levenberg_marquardt,
)


def rosenbrock(theta):
    x, y = theta
    r = np.array([10.0 * (y - x * x), 1.0 - x])
    J = np.array([[-20.0 * x, 10.0], [-1.0, 0.0]])
    return r, J


@pytest.mark.parametrize("kind", ["normal", "svd", "geodesic"])
def test_lm_on_rosenbrock(kind):
    def evaluate(theta):
        r, J = rosenbrock(theta)
        lin = (lambda: NormalEquations(J.T @ r, J.T @ J)) if kind == "normal" else (lambda: JacobianSVD(J, r))
        return Evaluation(float(r @ r), lin, None, lambda: r)
    res = levenberg_marquardt(evaluate, np.array([-1.2, 1.0]), max_iterations=200, tol=1e-14,
                              geodesic=(kind == "geodesic"))
    np.testing.assert_allclose(res.theta, [1.0, 1.0], atol=1e-10)
    assert res.stop_reason in ("zero_loss", "small_step", "small_gradient")
    assert np.all(np.diff(res.history[:, 1]) <= 0)     # the accepted loss never increases
    assert res.history[0, 0] == 0 and res.history.shape[1] == 5


def test_lm_discrepancy_at_start_and_max_iterations():
    def evaluate(theta):
        r, J = rosenbrock(theta)
        return Evaluation(float(r @ r), lambda: NormalEquations(J.T @ r, J.T @ J), 1e6)
    res = levenberg_marquardt(evaluate, np.array([-1.2, 1.0]), stop_at_target=True)
    assert res.stop_reason == "discrepancy" and res.iterations == 0
    res = levenberg_marquardt(evaluate, np.array([-1.2, 1.0]), max_iterations=3)
    assert res.stop_reason == "max_iterations" and res.iterations == 3


def test_lm_loop_knows_nothing_of_the_problem():
    tree = ast.parse(Path(lm.__file__).read_text())
    imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    # Absolute imports only, none of the package: no Dataset, no registry, no sibling module.
    assert all(node.level == 0 for node in ast.walk(tree) if isinstance(node, ast.ImportFrom))
    assert not any(m.startswith("discrete_eit") for m in imported), imported
