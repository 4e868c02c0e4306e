"""``discrete-eit audit``: lineage printing and hash verification on real artifacts."""

import json

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


def test_audit_line_shows_commit_and_dirty_flag():
    from discrete_eit.audit import _summary

    record = {"params": {"n": 3, "seed": 2}, "code_version": {"git_commit": "a" * 40, "git_dirty": True}}
    assert _summary(record) == f"n=3 seed=2  code={'a' * 10}+dirty"
    record["code_version"]["git_dirty"] = False
    assert _summary(record).endswith(f"code={'a' * 10}")
    assert "code=" not in _summary({"params": {"n": 3}})   # outside a git checkout: no commit
