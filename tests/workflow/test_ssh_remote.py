"""A lab's SSH remote: push results from one clone, restore them in another (README "Sharing results").

The test starts its own ``sshd`` on localhost (a free high port, running as the current user, its
own host key and a client key made here with ``ssh-keygen``), points a DVC remote at a folder
behind it (``dvc-ssh``), pushes the quick grid's ``dvc repro`` (the session fixture
``reproduced``, shared with tests/test_dvc.py), clones that repository into another folder and
runs ``tools/pull-touch-audit.sh`` there: ``dvc pull`` over SSH, ``snakemake --touch``,
``discrete-eit audit`` of every table and figure. A key the server does not know is refused.

DVC's SSH remote (dvc-ssh 4.3 over sshfs) does not check the server's host key (sshfs connects
with ``known_hosts=None``), so no known_hosts is needed here and none would be enforced.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from _workflow import (  # tests/ on sys.path
    QUICK_CONFIG,
    dvc_status,
    run_cmd,
    timed,
    versioned_outputs,
    workflow_test,
)

SSHD = shutil.which("sshd") or next((p for p in ("/usr/sbin/sshd", "/usr/local/sbin/sshd")
                                     if os.access(p, os.X_OK)), None)
SCRIPT = "tools/pull-touch-audit.sh"
REMOTE = "lab"


@dataclass
class Server:
    """A running test sshd: where it listens, who may log in with which key, its log."""

    port: int
    user: str
    keyfile: Path
    stranger_key: Path  # a key pair not in authorized_keys
    root: Path  # scratch folder on the "server" (the remote's directory goes here)
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "discrete-eit-test", "-f",
                    str(path)], check=True, capture_output=True)
    return path


def _wait_for_banner(port: int, proc: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"sshd exited {proc.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                if s.recv(64).startswith(b"SSH-2.0"):
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"sshd did not answer on port {port} within {timeout} s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    """An sshd on 127.0.0.1:<free port> accepting the test's key for the current user; stopped by PID."""
    if SSHD is None:
        pytest.skip("sshd not found (Debian/Ubuntu: apt-get install openssh-server; .ci/run installs it)")
    d = tmp_path_factory.mktemp("ssh")
    host_key, client_key, stranger = (_keygen(d / name) for name in ("host_key", "client_key", "stranger"))
    shutil.copy(client_key.with_suffix(".pub"), d / "authorized_keys")
    port, user = _free_port(), getpass.getuser()
    config = d / "sshd_config"
    config.write_text("\n".join([
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {host_key}", f"PidFile {d / 'sshd.pid'}",
        f"AuthorizedKeysFile {d / 'authorized_keys'}", f"AllowUsers {user}",
        "UsePAM no", "StrictModes no",  # no root-owned files or PAM stack needed
        "PubkeyAuthentication yes", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",  # CI runs as root: key logins only
        "Subsystem sftp internal-sftp",  # DVC talks SFTP; no sftp-server binary path to guess
        "LogLevel VERBOSE", ""]))
    if os.geteuid() == 0:
        # sshd started by root insists on its privilege-separation directory, which the distribution's
        # service unit creates at boot (no init system in CI containers).
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    check = subprocess.run([SSHD, "-t", "-f", str(config)], capture_output=True, text=True)
    assert check.returncode == 0, f"sshd -t: {check.stderr}"
    log = d / "sshd.log"
    with log.open("w") as fh:  # -D: stay in the foreground (our child), -e: log to stderr
        proc = subprocess.Popen([str(Path(SSHD).resolve()), "-D", "-e", "-f", str(config)],
                                stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT)
    try:
        _wait_for_banner(port, proc, log)
        yield Server(port, user, client_key, stranger, d, log)
    finally:
        proc.terminate()  # SIGTERM to our sshd's PID; its session children end with it
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _add_remote(clone: Path, server: Server, path: Path, name: str = REMOTE, key: Path | None = None) -> None:
    """A remote on the test server, for this clone only (``--local``: the URL and key are per machine)."""
    for args in (["add", "--local", "--force", name, f"ssh://localhost:{server.port}{path}"],
                 ["modify", "--local", name, "user", server.user],
                 ["modify", "--local", name, "keyfile", str(key or server.keyfile)],
                 ["modify", "--local", name, "ask_password", "false"]):
        run_cmd(["dvc", "remote", *args], clone)


@workflow_test
def test_ssh_remote_round_trip(reproduced, sshd, tmp_path, timings):
    """Push over SSH from one clone; pull, touch and audit in a clone elsewhere; nothing recomputed."""
    remote_dir = sshd.root / "lab-store" / "discrete-eit"
    _add_remote(reproduced, sshd, remote_dir)
    timed(["dvc", "push", "-r", REMOTE], reproduced, timings, "ssh_push")
    assert f"Accepted publickey for {sshd.user}" in sshd.log.read_text()
    cache = reproduced / ".dvc" / "cache"
    objects = sorted(str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file())
    assert objects and sorted(str(p.relative_to(remote_dir)) for p in remote_dir.rglob("*")
                              if p.is_file()) == objects  # every cached object, over SSH
    original = versioned_outputs(reproduced)

    clone = tmp_path / "another-machine" / "discrete-eit"
    clone.parent.mkdir()
    run_cmd(["git", "clone", "-q", str(reproduced), str(clone)], clone.parent)
    _add_remote(clone, sshd, remote_dir)
    assert not (clone / "data" / "dtn").exists() and not (clone / "results" / "recon").exists()

    # a key the server does not know: refused without a prompt; the script names the failing step
    _add_remote(clone, sshd, remote_dir, name="stranger", key=sshd.stranger_key)
    res = run_cmd(["bash", SCRIPT, "-r", "stranger", QUICK_CONFIG], clone, check=False, timeout=300)
    assert res.returncode != 0 and not (clone / "results" / "recon").exists()
    assert res.stderr.splitlines()[-1].startswith("pull-touch-audit: step 'dvc pull' failed"), res.stderr

    res = timed(["bash", SCRIPT, "-r", REMOTE, QUICK_CONFIG], clone, timings, "ssh_pull_touch_audit")
    # one `discrete-eit audit` of every artifact; its lineage trees are in the log, one verdict each
    log = (clone / "results/logs/pull-touch-audit.log").read_text().splitlines()
    verdicts = [line for line in log if line.startswith("audit passed:")]
    for artifact in ("results/claims.md", "results/tables/errors.csv", "results/figures/fig5.png"):
        assert any(line.startswith(f"{artifact}  [") for line in log), (artifact, log[:20])
    assert res.stdout.splitlines()[-1] == f"audit passed: {len(verdicts)} artifact(s)", res.stdout
    restored = versioned_outputs(clone)
    assert {k: v[1] for k, v in restored.items()} == {k: v[1] for k, v in original.items()}
    assert "Nothing to be done" in run_cmd(["snakemake", "-n", "--configfile", QUICK_CONFIG], clone).stdout
    assert dvc_status(clone) == {}


def test_script_usage_errors(tmp_path):
    """Bad arguments: a usage line or the missing config file named, exit 2, before any DVC call."""
    root = Path(__file__).resolve().parents[2]
    res = subprocess.run(["bash", root / SCRIPT, "-x"], capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.strip() == f"usage: {SCRIPT} [-r REMOTE] [CONFIGFILE ...]"
    res = subprocess.run(["bash", root / SCRIPT, "config/nope.yaml"], capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.startswith("pull-touch-audit: config/nope.yaml: config file "
                                                         "not found"), res.stderr
