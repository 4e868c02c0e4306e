"""Code fingerprints (artifacts.fingerprint): what counts as a code change, and the stale audit."""

from __future__ import annotations

import json
import textwrap

import pytest

from discrete_eit.artifacts.fingerprint import code_fingerprint, command_fingerprint, module_closure

A = '''"""Module a."""


def f(x):
    """Docstring of f."""
    from .b import g  # a lazy import counts too

    return g(x) + 1
'''
B = '''"""Module b."""


def g(x):
    return 2 * x
'''


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A throw-away package ``fpkg`` (modules a -> b) importable from tmp_path."""
    root = tmp_path / "fpkg"
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "a.py").write_text(A)
    (root / "b.py").write_text(B)
    monkeypatch.syspath_prepend(str(tmp_path))
    return root


def test_closure_follows_lazy_and_relative_imports(package):
    assert set(module_closure(["fpkg.a"])) == {"fpkg.a", "fpkg.b"}


@pytest.mark.parametrize("edit", [
    lambda s: s.replace('"""Docstring of f."""', '"""Another docstring,\n    on two lines."""'),
    lambda s: s.replace("return g(x) + 1", "return g(x) + 1  # why: the offset of the test"),
    lambda s: s.replace("def f(x):", "\n\ndef f(x):  # blank lines and a comment"),
    lambda s: s.replace('    """Docstring of f."""\n', ""),
])
def test_comment_and_docstring_edits_keep_the_fingerprint(package, edit):
    before = code_fingerprint(["fpkg.a"])["sha256"]
    (package / "a.py").write_text(edit(A))
    assert code_fingerprint(["fpkg.a"])["sha256"] == before


@pytest.mark.parametrize("module, edit", [
    ("a.py", lambda s: s.replace("+ 1", "+ 2")),
    ("a.py", lambda s: s.replace("g(x) + 1", "1 + g(x)")),    # same value, other code
    ("b.py", lambda s: s.replace("2 * x", "x * 2")),          # an imported module changed
])
def test_real_edits_change_the_fingerprint(package, module, edit):
    before = code_fingerprint(["fpkg.a"])["sha256"]
    path = package / module
    path.write_text(edit(path.read_text()))
    assert code_fingerprint(["fpkg.a"])["sha256"] != before


def test_a_method_change_reruns_only_that_method():
    """cm's fingerprint covers cm and the problem modules it uses, not the other methods, the CLI or
    the provenance code (a new sidecar field makes nothing stale)."""
    cm = command_fingerprint("reconstruct", "discrete_eit.methods.cm")["modules"]
    assert "discrete_eit.methods.cm" in cm and "discrete_eit.problem.completion" in cm
    assert not any(m.startswith(("discrete_eit.methods.nn", "discrete_eit.methods.ols")) for m in cm)
    nn = command_fingerprint("reconstruct", "discrete_eit.methods.nn.method")["modules"]
    assert {"discrete_eit.methods.nn.trainer", "discrete_eit.methods.nn.loss"} <= set(nn)
    for modules in (cm, nn, command_fingerprint("generate")["modules"]):
        assert not {"discrete_eit.cli", "discrete_eit.artifacts.sidecar", "discrete_eit"} & set(modules)


def test_missing_root_is_named():
    with pytest.raises(ValueError, match="module 'discrete_eit.methods.nope' not found"):
        code_fingerprint(["discrete_eit.methods.nope"])


def test_sidecars_record_the_code_and_audit_reports_stale(tmp_path, cli_process):
    assert cli_process("generate", "--n", "3", "--delta", "1e-3", "--seed", "1", "--out", "d.npz",
                       cwd=tmp_path)[0] == 0
    assert cli_process("reconstruct", "--method", "cm", "--data", "d.npz", "--out", "r.npz",
                       cwd=tmp_path)[0] == 0
    meta = json.loads((tmp_path / "r.npz.json").read_text())
    assert meta["code"] == command_fingerprint("reconstruct", "discrete_eit.methods.cm")
    assert json.loads((tmp_path / "d.npz.json").read_text())["code"] == command_fingerprint("generate")
    assert cli_process("audit", "r.npz", cwd=tmp_path)[0] == 0
    # a dataset made by other code: every hash still verifies, but it is stale (exit 3)
    side = tmp_path / "d.npz.json"
    record = json.loads(side.read_text())
    record["code"]["sha256"] = "0" * 64
    side.write_text(json.dumps(record))
    code, out, err = cli_process("audit", "r.npz", cwd=tmp_path)
    assert code == 3, out + err
    assert "d.npz  [dataset]  sha256 ok" in out and "STALE: code changed" in out
    assert err.strip() == textwrap.dedent(
        "AUDIT STALE: d.npz: code changed since it was made (fingerprint 000000000000… → "
        f"{command_fingerprint('generate')['sha256'][:12]}…)")


def test_script_fingerprints_do_not_depend_on_where_the_project_lies(tmp_path, monkeypatch):
    """Scripts enter under their recorded (relative) names: audit --root DIR from elsewhere agrees."""
    from discrete_eit.artifacts.fingerprint import recompute

    (tmp_path / "workflow/scripts").mkdir(parents=True)
    for name in ("table.py", "_common.py"):
        (tmp_path / "workflow/scripts" / name).write_text("from discrete_eit.experiment import tables\n")
    files = ["workflow/scripts/table.py", "workflow/scripts/_common.py"]
    monkeypatch.chdir(tmp_path)
    here = code_fingerprint(files=files)
    monkeypatch.chdir(tmp_path.parent)
    assert code_fingerprint(files=files, base=tmp_path) == here
    assert recompute(here, tmp_path) == here["sha256"] and recompute(here) is None  # not found here
    assert "discrete_eit.experiment.tables" in here["modules"]


def test_specs_that_run_a_method_by_name_cover_its_module(load_config, methods):
    from discrete_eit.experiment import specs

    exp = specs.Experiment(load_config(), methods)
    jobs = {o.rule: specs.job_params(o, exp) for o in specs.instances(exp)}
    completion = code_fingerprint(**jobs["table_completion"]["code"])
    assert "discrete_eit.methods.cm" in completion["modules"]
    assert "discrete_eit.methods.cm" in completion["roots"]
    assert "workflow/scripts/build.py" in completion["files"]
    assert "discrete_eit.methods.cm" not in code_fingerprint(**jobs["table_training"]["code"])["modules"]
