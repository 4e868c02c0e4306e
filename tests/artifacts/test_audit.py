"""``discrete-eit audit``: lineage printing and hash verification on real artifacts."""

import json

import pytest

from discrete_eit.cli import main


def make_chain(tmp_path):
    data, sens = tmp_path / "d.npz", tmp_path / "s.npz"
    assert main(["generate", "--n", "3", "--noise", "1e-4", "--seed", "2", "--out", str(data)]) == 0
    assert main(["sensitivity", "--data", str(data), "--out", str(sens)]) == 0
    return data, sens


def test_audit_passes_and_prints_lineage(tmp_path, capsys):
    data, sens = make_chain(tmp_path)
    capsys.readouterr()
    assert main(["audit", str(sens)]) == 0
    out = capsys.readouterr().out
    assert f"{sens}  [sensitivity]  sha256 ok" in out
    assert f"{data}  [dataset]  sha256 ok" in out and "seed=2" in out
    assert "audit passed: 2 file(s) verified" in out


def test_audit_names_a_tampered_input(tmp_path, capsys):
    data, sens = make_chain(tmp_path)
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    data.write_bytes(bytes(raw))
    capsys.readouterr()
    assert main(["audit", str(sens)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("AUDIT FAILED: ") and str(data) in err


def test_audit_names_an_edited_artifact_and_a_missing_sidecar(tmp_path, capsys):
    data, sens = make_chain(tmp_path)
    side = json.loads((tmp_path / "s.npz.json").read_text())
    side["sha256"] = "0" * 64
    (tmp_path / "s.npz.json").write_text(json.dumps(side))
    capsys.readouterr()
    assert main(["audit", str(sens)]) == 1
    assert f"{sens}: sha256" in capsys.readouterr().err
    (tmp_path / "s.npz.json").unlink()
    assert main(["audit", str(sens)]) == 1
    assert "no provenance sidecar" in capsys.readouterr().err


@pytest.mark.parametrize("field, forged", [("delta", 0.5), ("seed", 3), ("n", 4), ("partial_set", "last3n"),
                                           ("symmetric_noise", True), ("profile", "random")])
def test_audit_fails_when_a_sidecar_disagrees_with_its_dataset(field, forged, tmp_path, capsys):
    """The dataset file holds its meaning; a sidecar claiming other params is named, field by field."""
    data, sens = make_chain(tmp_path)
    side_path = tmp_path / "d.npz.json"
    side = json.loads(side_path.read_text())
    side["params"][field] = forged
    side_path.write_text(json.dumps(side))
    capsys.readouterr()
    for target in (data, sens):          # directly, and as the input of what consumed it
        assert main(["audit", str(target)]) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("AUDIT FAILED: ")
        assert f"d.npz.json: params.{field} = {forged!r} disagrees" in err, err


def test_audit_line_shows_commit_and_dirty_flag():
    from discrete_eit.artifacts.audit import _summary

    record = {"params": {"n": 3, "seed": 2}, "code_version": {"git_commit": "a" * 40, "git_dirty": True}}
    assert _summary(record) == f"n=3 seed=2  code={'a' * 10}+dirty"
    record["code_version"]["git_dirty"] = False
    assert _summary(record).endswith(f"code={'a' * 10}")
    assert "code=" not in _summary({"params": {"n": 3}})   # outside a git checkout: no commit


def _error_table(tmp_path, capsys):
    """A two-row error table built like the workflow's: the reconstructions evaluated in one call,
    each row naming its reconstruction in `source`."""
    from discrete_eit.artifacts.evaluation import evaluate_reconstructions
    from discrete_eit.experiment.tables import build_error_table, error_row, write_table

    pairs = []
    for seed in (1, 2):
        data, recon, ev = (tmp_path / f"d{seed}.npz", tmp_path / f"r{seed}.npz", tmp_path / f"e{seed}.json")
        assert main(["generate", "--n", "3", "--noise", "1e-4", "--seed", str(seed), "--out", str(data)]) == 0
        assert main(["reconstruct", "--method", "cm", "--data", str(data), "--out", str(recon)]) == 0
        assert main(["evaluate", "--data", str(data), "--recon", str(recon), "--out", str(ev)]) == 0
        pairs.append((data, recon))
    metrics = evaluate_reconstructions(pairs)
    rows = []
    for seed, m, (_, recon) in zip((1, 2), metrics, pairs, strict=True):
        # the batch evaluation gives the CLI's numbers, bit for bit
        assert m == json.loads((tmp_path / f"e{seed}.json").read_text())
        cell = {"profile": "wave", "n": 3, "set": "full", "noise_model": "relative", "delta": 1e-4,
                "seed": seed, "run": "cm", "method": "cm"}
        rows.append(error_row(cell, m, None, source=str(recon)))
    na = {"profile": "wave", "n": 3, "set": "sigma0", "noise_model": "relative", "delta": 1e-4, "seed": 1,
          "run": "cm", "method": "cm"}
    rows.append(error_row(na, None, None))
    table = tmp_path / "errors.csv"
    recons = [r for _, r in pairs]
    write_table(build_error_table(rows), table, inputs=[p for pair in pairs for p in pair])
    capsys.readouterr()
    return table, recons


def test_audit_single_table_row(tmp_path, capsys):
    table, recons = _error_table(tmp_path, capsys)
    assert main(["audit", str(table), "--row", "seed=2", "--row", "delta=0.0001", "--row", "set=full"]) == 0
    out = capsys.readouterr().out
    assert "1 row(s) selected" in out and "seed=2" in out
    assert f"{recons[1]}  [reconstruction]  sha256 ok" in out and "d2.npz  [dataset]" in out
    assert "d1.npz" not in out                                     # only the selected row's lineage
    assert "audit passed: 3 file(s) verified" in out               # table, reconstruction, dataset
    assert main(["audit", str(table), "--row", "set=sigma0"]) == 0
    assert "method does not apply" in capsys.readouterr().out
    # a tampered input of an unselected row is not reached; of the selected row it is named
    raw = bytearray((tmp_path / "d1.npz").read_bytes())
    raw[len(raw) // 2] ^= 0x01
    (tmp_path / "d1.npz").write_bytes(bytes(raw))
    assert main(["audit", str(table), "--row", "seed=2", "--row", "set=full"]) == 0
    assert main(["audit", str(table), "--row", "seed=1", "--row", "set=full"]) == 1
    assert "AUDIT FAILED: " in (err := capsys.readouterr().err) and "d1.npz" in err


def test_audit_row_selector_errors(tmp_path, capsys):
    table, _ = _error_table(tmp_path, capsys)
    assert main(["audit", str(table), "--row", "seed=9"]) == 1
    assert "no row matches seed=9" in capsys.readouterr().err
    assert main(["audit", str(table), "--row", "colour=red"]) == 1
    assert "bad row selector 'colour=red'" in capsys.readouterr().err
    edited = table.read_text().replace("wave", "wavy", 1)
    table.write_text(edited)
    assert main(["audit", str(table), "--row", "seed=1"]) == 1
    assert "errors.csv: sha256" in capsys.readouterr().err
