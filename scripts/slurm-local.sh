#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the Slurm tests and for trying the slurm/ templates.
#
#   scripts/slurm-local.sh start    install slurm-wlm + munge if missing (apt), write
#                                   /etc/slurm/slurm.conf, start munged, slurmctld and slurmd, and
#                                   wait until `sinfo` shows the node idle
#   scripts/slurm-local.sh stop     cancel this cluster's jobs, then end slurmd, slurmctld and
#                                   munged by the process ids in their pid files (never by name)
#   scripts/slurm-local.sh status   what runs, and `sinfo`
#
# The configuration is the one verified on these machines (reference/distributed.md section 6.6):
# NodeName = `hostname -s`, CPUs = nproc, RealMemory = total minus headroom, MpiDefault=pmix (a plain
# `srun` starts Open MPI programs), proctrack/linuxproc and task/none (cgroup plugins fail in these
# containers), no accounting. Needs root (or sudo); no systemd.
#
# Environment:
#   NNFLEET_SLURM_CLEAN=1      start with an empty controller state (no jobs from an earlier run)
#   NNFLEET_SLURM_CPUS=N       CPUs to declare (default nproc; more than exist overcommits the cores)
#   NNFLEET_SLURM_HEADROOM_MB  memory kept from Slurm (default 1024, or 10 % if more)
#   NNFLEET_SLURM_FORCE=1      overwrite a slurm.conf that this script did not write
set -euo pipefail

conf=/etc/slurm/slurm.conf
marker="# Written by nnfleet scripts/slurm-local.sh"
ctld_pid=/run/slurmctld.pid
slurmd_pid=/run/slurmd.pid
munge_pid=/run/munge/munged.pid
log_dir=/var/log/slurm

say() { echo "slurm-local: $*"; }
die() { echo "slurm-local: ERROR: $*" >&2; exit 1; }

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "needs root (or sudo) to run the Slurm and munge daemons"
  as_root=(sudo)
fi
root() { "${as_root[@]}" "$@"; }

# alive PIDFILE: the daemon in PIDFILE runs (the pid exists and is not a zombie).
alive() {
  local f="$1" pid
  [ -r "$f" ] || return 1
  pid="$(cat "$f" 2>/dev/null)"; [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null
}

install_packages() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null &&
     command -v sbatch >/dev/null; then
    return
  fi
  say "installing slurm-wlm and munge (apt)"
  root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive root apt-get install -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=600 slurm-wlm munge
}

start_munge() {
  if alive "$munge_pid"; then return; fi
  if [ ! -s /etc/munge/munge.key ]; then
    say "creating /etc/munge/munge.key"
    root mungekey --create --keyfile=/etc/munge/munge.key
    root chown munge:munge /etc/munge/munge.key
    root chmod 0600 /etc/munge/munge.key
  fi
  root install -d -o munge -g munge -m 0755 /run/munge
  root su -s /bin/sh munge -c /usr/sbin/munged
  for _ in $(seq 1 50); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return
    sleep 0.1
  done
  die "munged does not answer (munge -n | unmunge); see /var/log/munge/munged.log"
}

# The machine's cores: nproc alone obeys OMP_NUM_THREADS (set to 1 by the tests), which would
# declare a one-CPU node that no two-task job fits.
cores() { env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc; }

write_conf() {
  local host cpus mem_mb headroom real
  host="$(hostname -s)"
  cpus="${NNFLEET_SLURM_CPUS:-$(cores)}"
  mem_mb=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 ))
  headroom="${NNFLEET_SLURM_HEADROOM_MB:-$(( mem_mb / 10 > 1024 ? mem_mb / 10 : 1024 ))}"
  real=$(( mem_mb - headroom )); (( real > 256 )) || real=256
  if [ -f "$conf" ] && ! grep -qF "$marker" "$conf" && [ "${NNFLEET_SLURM_FORCE:-0}" != 1 ]; then
    die "$conf exists and was not written by this script; set NNFLEET_SLURM_FORCE=1 to replace it"
  fi
  local overrides=""
  (( cpus > $(cores) )) && overrides="SlurmdParameters=config_overrides"
  root install -d /etc/slurm
  root tee "$conf" >/dev/null <<EOF
$marker (one-node test cluster; rewritten at each start)
ClusterName=local
SlurmctldHost=${host}(127.0.0.1)
AuthType=auth/munge
CryptoType=crypto/munge
SlurmUser=slurm
SlurmdUser=root
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=${ctld_pid}
SlurmdPidFile=${slurmd_pid}
SlurmctldLogFile=${log_dir}/slurmctld.log
SlurmdLogFile=${log_dir}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=5
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
ReturnToService=2
KillWait=30
MinJobAge=600
${overrides}
NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${real} State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
  say "wrote $conf: node $host, CPUs=$cpus, RealMemory=${real} MiB"
}

wait_idle() {
  local host state
  host="$(hostname -s)"
  for i in $(seq 1 120); do
    state="$(sinfo -h -n "$host" -o '%T' 2>/dev/null | head -1 || true)"
    case "$state" in
      idle|mixed|allocated) say "node $host is $state"; return 0 ;;
      down*|drain*|*drain) (( i % 10 == 1 )) && scontrol update NodeName="$host" State=RESUME 2>/dev/null || true ;;
    esac
    sleep 0.5
  done
  sinfo -N -l || true
  die "node $host did not become idle; see $log_dir/slurmctld.log and $log_dir/slurmd.log"
}

cmd_start() {
  install_packages
  start_munge
  root install -d -o slurm -g slurm /var/spool/slurmctld "$log_dir"
  root install -d /var/spool/slurmd
  if alive "$ctld_pid" && alive "$slurmd_pid"; then
    say "already running (slurmctld $(cat "$ctld_pid"), slurmd $(cat "$slurmd_pid"))"
    wait_idle
    return
  fi
  write_conf
  if ! alive "$ctld_pid"; then
    if [ "${NNFLEET_SLURM_CLEAN:-0}" = 1 ]; then root /usr/sbin/slurmctld -c
    else root /usr/sbin/slurmctld; fi
  fi
  alive "$slurmd_pid" || root /usr/sbin/slurmd
  for _ in $(seq 1 50); do alive "$ctld_pid" && alive "$slurmd_pid" && break; sleep 0.1; done
  alive "$ctld_pid" || die "slurmctld did not start; see $log_dir/slurmctld.log"
  alive "$slurmd_pid" || die "slurmd did not start; see $log_dir/slurmd.log"
  wait_idle
  say "started: munged $(cat "$munge_pid"), slurmctld $(cat "$ctld_pid"), slurmd $(cat "$slurmd_pid")"
}

# stop_daemon NAME PIDFILE: SIGTERM by pid, then SIGKILL after 20 s.
stop_daemon() {
  local name="$1" f="$2" pid
  alive "$f" || { say "$name is not running"; return 0; }
  pid="$(cat "$f")"
  root kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
  if [ -d "/proc/$pid" ]; then
    say "$name ($pid) ignores SIGTERM; SIGKILL"
    root kill -KILL "$pid" 2>/dev/null || true
  fi
  say "stopped $name ($pid)"
}

cmd_stop() {
  if alive "$ctld_pid"; then
    # This is the local test cluster: its jobs go with it (steps would outlive slurmd otherwise).
    local jobs
    jobs="$(squeue -h -o '%A' 2>/dev/null | sort -u | tr '\n' ' ' || true)"
    if [ -n "${jobs// /}" ]; then
      say "cancelling jobs: $jobs"
      # shellcheck disable=SC2086
      scancel $jobs 2>/dev/null || true
      for _ in $(seq 1 100); do
        [ -z "$(squeue -h -t RUNNING,COMPLETING -o '%A' 2>/dev/null)" ] && break
        sleep 0.2
      done
    fi
  fi
  stop_daemon slurmd "$slurmd_pid"
  stop_daemon slurmctld "$ctld_pid"
  stop_daemon munged "$munge_pid"
}

cmd_status() {
  local rc=0 name f
  for name in munged slurmctld slurmd; do
    case "$name" in munged) f="$munge_pid" ;; slurmctld) f="$ctld_pid" ;; slurmd) f="$slurmd_pid" ;; esac
    if alive "$f"; then echo "$name: running (pid $(cat "$f"))"; else echo "$name: stopped"; rc=3; fi
  done
  if [ "$rc" = 0 ]; then sinfo; squeue; fi
  return "$rc"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
