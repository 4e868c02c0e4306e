#!/usr/bin/env bash
# One-node SLURM on localhost for testing `snakemake --executor slurm` (tests/cluster).
#
#   tests/cluster/slurm_harness.sh up            # install if needed, start munge+slurmctld+slurmd, wait idle;
#                                                 # prints the scratch dir (last stdout line)
#   tests/cluster/slurm_harness.sh down [DIR]    # stop every daemon *it* started, by the PID in its pid file
#   tests/cluster/slurm_harness.sh status [DIR]  # sinfo / squeue of the harness cluster
#   tests/cluster/slurm_harness.sh run CMD...    # up; CMD; down (trap: down also runs on failure / Ctrl-C)
#
# Needs root (apt-get, munge user, /etc/slurm symlink) on Debian 12; see docs/slurm.md and
# /work/shared/spec/SLURM-LOCAL.md for the facts this follows.  Exit code 77 from `up` means
# "cannot provide SLURM here" (no root / no apt / install failed / ports taken): callers skip on it.
#
# Environment:
#   DEIT_SLURM_NO_INSTALL=1   never call apt-get (exit 77 when the binaries are missing)
#   DEIT_SLURM_KEEP=1         `down` keeps the scratch dir (logs) instead of deleting it
#   DEIT_SLURM_SCRATCH=DIR    parent of the scratch dir (default /tmp)
#   DEIT_SLURM_IDLE_TIMEOUT   seconds to wait for the node to become idle (default 90)
#   DEIT_SLURM_FAKE_GPUS=N    advertise N count-only `gpu` GRES on the node (no device behind them), so that
#                             GPU requests (sbatch --gpus / --gres=gpu) are accepted and can be tested
set -euo pipefail

CURRENT_LINK="${DEIT_SLURM_SCRATCH:-/tmp}/deit-slurm.current"
ETC_CONF=/etc/slurm/slurm.conf
PKGS=(slurmctld slurmd slurm-client munge)
SKIP=77

log() { echo "[slurm-harness] $*" >&2; }

resolve_dir() {
    local d="${1:-}"
    if [[ -z "$d" && -L "$CURRENT_LINK" ]]; then d="$(readlink "$CURRENT_LINK")"; fi
    if [[ -z "$d" || ! -f "$d/slurm.conf" ]]; then
        log "no harness scratch dir given/found (${d:-none})"
        return 1
    fi
    echo "$d"
}

install_pkgs() {
    local missing=0 b
    for b in slurmctld slurmd sbatch squeue sinfo munged munge; do
        command -v "$b" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$b" >/dev/null 2>&1 || missing=1
    done
    [[ $missing == 0 ]] && return 0
    if [[ "${DEIT_SLURM_NO_INSTALL:-0}" == 1 ]]; then
        log "SLURM binaries missing and DEIT_SLURM_NO_INSTALL=1"
        return $SKIP
    fi
    if [[ $EUID -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        log "SLURM binaries missing and cannot apt-get install (need root + apt)"
        return $SKIP
    fi
    log "installing ${PKGS[*]} (apt-get, ~1-2 min)"
    export DEBIAN_FRONTEND=noninteractive
    # Package postinst scripts try to start services; without systemd/init they must not.
    if ! apt-get install -y --no-install-recommends "${PKGS[@]}" >/tmp/deit-slurm-apt.log 2>&1; then
        apt-get update >>/tmp/deit-slurm-apt.log 2>&1 || true
        if ! apt-get install -y --no-install-recommends "${PKGS[@]}" >>/tmp/deit-slurm-apt.log 2>&1; then
            log "apt-get install failed (see /tmp/deit-slurm-apt.log)"
            return $SKIP
        fi
    fi
    # postinst may have started a packaged munged; we never kill it by name, but warn.
    log "installed: $(dpkg-query -W -f='${Version}' slurmctld 2>/dev/null)"
}

port_busy() {  # port -> 0 if something listens on it
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_pidfile() {  # file seconds
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

cmd_up() {
    export PATH="$PATH:/usr/sbin:/sbin"
    if [[ $EUID -ne 0 ]]; then log "must run as root"; return $SKIP; fi
    local rc=0
    install_pkgs || rc=$?
    [[ $rc == 0 ]] || return $rc

    if [[ -L "$CURRENT_LINK" ]] && [[ -f "$(readlink "$CURRENT_LINK")/slurmctld.pid" ]] \
        && kill -0 "$(cat "$(readlink "$CURRENT_LINK")/slurmctld.pid")" 2>/dev/null; then
        log "a harness cluster is already up at $(readlink "$CURRENT_LINK"); run 'down' first"
        return $SKIP
    fi
    local p
    for p in 6817 6818; do
        if port_busy $p; then log "port $p already in use (another SLURM?)"; return $SKIP; fi
    done
    if [[ -e "$ETC_CONF" && ! -L "$ETC_CONF" ]]; then
        log "$ETC_CONF is a real file (a site SLURM?); refusing to touch it"
        return $SKIP
    fi

    local D
    D="$(mktemp -d "${DEIT_SLURM_SCRATCH:-/tmp}/deit-slurm-XXXX")"
    chmod 755 "$D"
    # From here on a failure tears down whatever was started.
    trap 'log "up failed; tearing down"; cmd_down "$D" || true' ERR
    mkdir -p "$D"/{munge,log,state,spool,run}
    ln -sfn "$D" "$CURRENT_LINK"

    # --- munge: own key, socket dir owned by munge with mode 755 (munged refuses 700)
    chown munge:munge "$D/munge"
    chmod 755 "$D/munge"
    dd if=/dev/urandom of="$D/munge/munge.key" bs=1024 count=1 status=none
    chown munge:munge "$D/munge/munge.key"
    chmod 400 "$D/munge/munge.key"
    local SOCK="$D/munge/munge.socket"
    runuser -u munge -- munged --key-file="$D/munge/munge.key" --socket="$SOCK" \
        --pid-file="$D/munge/munged.pid" --log-file="$D/munge/munged.log" \
        --seed-file="$D/munge/munged.seed" --force
    wait_pidfile "$D/munge/munged.pid" 10
    cp "$D/munge/munged.pid" "$D/run/munged.pid"
    munge -S "$SOCK" -n | unmunge -S "$SOCK" >/dev/null
    log "munged up (pid $(cat "$D/run/munged.pid"))"

    # --- slurm.conf (node line from slurmd -C)
    local host node
    host="$(hostname -s)"
    node="$(slurmd -C | head -n1)"
    [[ "$node" == NodeName=* ]]
    local gpus="${DEIT_SLURM_FAKE_GPUS:-0}" gres_types="" node_gres=""
    if [[ "$gpus" =~ ^[1-9][0-9]*$ ]]; then
        gres_types="GresTypes=gpu"
        node_gres="Gres=gpu:${gpus}"
        echo "NodeName=$(awk '{print $1}' <<<"$node" | cut -d= -f2) Name=gpu Count=${gpus} File=/dev/null" >"$D/gres.conf"
    fi
    cat >"$D/slurm.conf" <<EOF
# Written by tests/cluster/slurm_harness.sh -- throwaway one-node cluster
ClusterName=deit
SlurmctldHost=${host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${SOCK}
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/run/slurmctld.pid
SlurmdPidFile=$D/run/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
MinJobAge=3600
MailProg=/bin/true
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
${gres_types}
${node} NodeAddr=127.0.0.1 ${node_gres} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    mkdir -p /etc/slurm
    ln -sfn "$D/slurm.conf" "$ETC_CONF"
    echo "export SLURM_CONF=$D/slurm.conf" >"$D/env.sh"
    export SLURM_CONF="$D/slurm.conf"

    # --- daemons (they daemonise and write their pid files)
    slurmctld -f "$D/slurm.conf" -c
    wait_pidfile "$D/run/slurmctld.pid" 20
    slurmd -f "$D/slurm.conf" -c
    wait_pidfile "$D/run/slurmd.pid" 20
    log "slurmctld pid $(cat "$D/run/slurmctld.pid"), slurmd pid $(cat "$D/run/slurmd.pid")"

    local t0=$SECONDS state="" limit="${DEIT_SLURM_IDLE_TIMEOUT:-90}"
    while ((SECONDS - t0 < limit)); do
        state="$(sinfo -h -N -o %T 2>/dev/null | head -n1 || true)"
        [[ "$state" == idle ]] && break
        sleep 1
    done
    if [[ "$state" != idle ]]; then
        log "node not idle after ${limit}s (state: '${state}'); logs in $D/log"
        false
    fi
    trap - ERR
    log "SLURM up in $D (node $(sinfo -h -N -o '%N %c CPUs %m MB %T'))"
    echo "$D"
}

stop_pidfile() {  # pidfile name
    local f="$1" pid i
    [[ -s "$f" ]] || return 0
    pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "$2 (pid $pid) ignored SIGTERM; SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        log "stopped $2 (pid $pid)"
    fi
}

cmd_down() {
    local D
    D="$(resolve_dir "${1:-}")" || return 0
    export PATH="$PATH:/usr/sbin:/sbin"
    export SLURM_CONF="$D/slurm.conf"
    # Cancel leftover jobs of this cluster so no job step outlives it.
    if [[ -s "$D/run/slurmctld.pid" ]] && kill -0 "$(cat "$D/run/slurmctld.pid")" 2>/dev/null; then
        timeout 10 scancel --user=root --full 2>/dev/null || true
    fi
    stop_pidfile "$D/run/slurmd.pid" slurmd
    stop_pidfile "$D/run/slurmctld.pid" slurmctld
    stop_pidfile "$D/run/munged.pid" munged
    if [[ -L "$ETC_CONF" && "$(readlink "$ETC_CONF")" == "$D/slurm.conf" ]]; then
        rm -f "$ETC_CONF"
    fi
    if [[ -L "$CURRENT_LINK" && "$(readlink "$CURRENT_LINK")" == "$D" ]]; then
        rm -f "$CURRENT_LINK"
    fi
    if [[ "${DEIT_SLURM_KEEP:-0}" == 1 ]]; then
        log "kept $D"
    else
        rm -rf "$D"
    fi
}

cmd_status() {
    local D
    D="$(resolve_dir "${1:-}")" || return 1
    export PATH="$PATH:/usr/sbin:/sbin" SLURM_CONF="$D/slurm.conf"
    echo "scratch: $D"
    sinfo -N -o '%N %c %m %T'
    squeue -o '%i %j %T %M'
}

cmd_run() {
    local rc=0
    RUN_DIR="$(cmd_up)" || return $?
    # Global (not local) so that the EXIT trap still sees it after this function returned.
    trap 'cmd_down "$RUN_DIR"' EXIT
    trap 'exit 130' INT TERM
    SLURM_CONF="$RUN_DIR/slurm.conf" DEIT_SLURM_DIR="$RUN_DIR" "$@" || rc=$?
    return $rc
}

case "${1:-}" in
    up) cmd_up ;;
    down) shift; cmd_down "${1:-}" ;;
    status) shift; cmd_status "${1:-}" ;;
    run) shift; cmd_run "$@" ;;
    *) echo "usage: $0 up | down [DIR] | status [DIR] | run CMD..." >&2; exit 2 ;;
esac
