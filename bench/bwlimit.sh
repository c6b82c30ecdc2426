#!/usr/bin/env bash
# Benchmark of a target's bandwidth limit (issue 13), side by side in one run: the
# same first sync of a 20 MiB snapshot to two targets over SSH (sshd on 127.0.0.1,
# started here), one unlimited and one with bwlimit_kib: 2000. Their sync steps' times
# come from the record. Run as root (sshd, a throwaway key).
# Usage: bench/bwlimit.sh [MIB] [KIB_PER_SEC]   (defaults 20 and 2000)
# Environment: see bench/common.sh (BACKUP_SERVER, BENCH_SEED, BENCH_RESULTS).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
source bench/common.sh

mib=${1:-20}
limit=${2:-2000}
bench_setup backup-bwlimit rsync sqlite3 openssh-server openssh-client
cleanup() { # replaces bench_setup's trap: sshd is stopped too
	[[ ! -f $work/sshd.pid ]] || kill "$(cat "$work/sshd.pid")" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work"/{src,local,fast,slow,state} /run/sshd

# Incompressible data, so compression cannot hide the limit.
random_bytes "$((mib * 1024 * 1024))" data >"$work/src/data.bin"

ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/client_key"
cp "$work/client_key.pub" "$work/authorized_keys"
port=$((20000 + RANDOM % 20000))
cat >"$work/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $work/host_key
AuthorizedKeysFile $work/authorized_keys
PidFile $work/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
UsePAM no
StrictModes no
CONF
/usr/sbin/sshd -f "$work/sshd_config"
echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$work/host_key.pub")" >"$work/known_hosts"
printf 'Host bench\n  HostName 127.0.0.1\n  Port %s\n' "$port" >"$work/ssh_config"

cat >"$work/config.yml" <<YAML
dir_backup_local: $work/local
email_sender: bench@example.com
email_report: bench@example.com
ssh_key: $work/client_key
ssh_known_hosts: $work/known_hosts
ssh_config: $work/ssh_config
targets:
  - {name: fast, location: "root@bench:$work/fast", compress: false}
  - {name: slow, location: "root@bench:$work/slow", compress: false, bwlimit_kib: $limit}
tasks: [{name: data, dir_source: $work/src}]
YAML

"$bin" --config "$work/config.yml" --state-dir "$work/state" --no-email --today 2026-01-01 run 2>/dev/null
seconds() {
	sqlite3 "$work/state/log.db" "SELECT printf('%.2f', ended - started) FROM steps WHERE step = '$1'"
}
fast=$(seconds sync-fast)
slow=$(seconds sync-slow)
printf 'sync of %d MiB over SSH: unlimited %s s, bwlimit_kib %d: %s s (%d MiB at %d KiB/s is %.1f s)\n' \
	"$mib" "$fast" "$limit" "$slow" "$mib" "$limit" "$(echo "$mib * 1024 / $limit" | bc -l)"
result "bwlimit: sync unlimited" "$fast"
result "bwlimit: sync at bwlimit_kib $limit" "$slow"
