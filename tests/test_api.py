"""The package's public API and its layering."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src/discrete_eit"
# A layer may import itself and the layers listed for it, nothing above.
ALLOWED = {
    "problem": {"problem"},
    "methods": {"problem", "methods"},
    "artifacts": {"problem", "artifacts"},
    "experiment": {"problem", "methods", "artifacts", "experiment"},
}


def test_readme_example_runs():
    from discrete_eit import conductivity_profile, error_metrics, generate_dataset, reconstruct

    gamma = conductivity_profile("wave", 6)
    data = generate_dataset(gamma, 6, delta=1e-3, seed=1, partial_set="last3n")
    rec = reconstruct("nn_fast", data)
    assert rec.gamma.shape == (84,)
    assert 0 < error_metrics(data, rec.gamma)["relative_l2_error"] < 0.1


def _imports(path: Path) -> set[str]:
    """Layers of ``discrete_eit`` a module imports (absolute or relative)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                parts = list(path.relative_to(PACKAGE).parent.parts)
                base = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                mod = [*base, *(node.module.split(".") if node.module else [])]
                found.add(mod[0] if mod else "")
            elif node.module and node.module.startswith("discrete_eit."):
                found.add(node.module.split(".")[1])
            elif node.module == "discrete_eit":
                found.add("")
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("discrete_eit.")}
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_imports_point_one_way(layer):
    """No lower layer imports a higher one (nor the CLI or the package top)."""
    for module in sorted((PACKAGE / layer).rglob("*.py")):
        bad = _imports(module) - ALLOWED[layer]
        assert not bad, f"{module.relative_to(PACKAGE)} imports {sorted(bad)}"


def test_the_problem_layer_handles_no_files():
    for module in sorted((PACKAGE / "problem").rglob("*.py")):
        text = module.read_text()
        for word in ("import json", "open(", "np.load", "np.save", "snakemake"):
            assert word not in text, f"{module.name} uses {word}"


def test_the_package_imports_no_snakemake():
    for module in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(module.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not {m for m in names if m.split(".")[0] == "snakemake"}, module.name
