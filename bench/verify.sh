#!/usr/bin/env bash
# Benchmark of `backup-server verify` on the engine benchmark's tree (FILES files of 1 kB
# in directories of 1000), backed up and synced to a second local disk, side by side with
# the same two comparisons done by hand with rsync:
#   1. ours: `backup-server verify` (every file's contents read on the backup disk, the
#      target and the source), and `verify --sample 10`;
#   2. by hand: rsync --dry-run --checksum of the snapshot against the target's copy, and
#      of the source against the snapshot.
# Wall time, best and median of RUNS runs each, alternating who goes first. The tree
# stays in the page cache (the machine is shared; caches are not dropped): these are the
# costs of reading and checksumming, not of a cold disk.
# Usage: bench/verify.sh [FILES] [RUNS]   (defaults 50000 and 5)
# Environment: see bench/common.sh (BACKUP_SERVER, BENCH_SEED, BENCH_RESULTS).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
source bench/common.sh

files=${1:-50000}
runs=${2:-5}
bench_setup backup-verify-bench rsync
mkdir -p "$work"/{src,local,remote,state}
make_tree "$work/src" "$files"

cat >"$work/config.yml" <<YAML
dir_backup_local: $work/local
dir_backup_remote: $work/remote
email_sender: bench@example.com
email_report: bench@example.com
tasks: [{name: data, dir_source: $work/src}]
YAML
day=2026-01-01
backup() {
	"$bin" --config "$work/config.yml" --state-dir "$work/state" --today "$day" "$@"
}
backup --no-email run 2>/dev/null

ours() { backup verify >/dev/null 2>&1; }
sampled() { backup verify --sample 10 >/dev/null 2>&1; }
hand() {
	local options=(-a --hard-links --numeric-ids --acls --xattrs --sparse --dry-run --checksum --itemize-changes)
	rsync "${options[@]}" --delete "$work/local/data/$day/" "$work/remote/data/$day/" >/dev/null
	rsync "${options[@]}" "$work/src/" "$work/local/data/$day/" >/dev/null
}

# Best and median of the numbers on stdin.
summary() {
	sort -n | awk '{ t[NR] = $1 } END { printf "best %.2f s, median %.2f s\n", t[1], t[int((NR + 1) / 2)] }'
}

ours >/dev/null # warm the page cache for everyone
: >"$work/ours" && : >"$work/hand" && : >"$work/sampled"
for ((i = 0; i < runs; i++)); do
	if ((i % 2)); then
		seconds hand >>"$work/hand"
		seconds ours >>"$work/ours"
	else
		seconds ours >>"$work/ours"
		seconds hand >>"$work/hand"
	fi
	seconds sampled >>"$work/sampled"
done
printf '%-44s %s\n' "backup-server verify (every file)" "$(summary <"$work/ours")"
printf '%-44s %s\n' "the same two rsync --checksum by hand" "$(summary <"$work/hand")"
printf '%-44s %s\n' "backup-server verify --sample 10" "$(summary <"$work/sampled")"
result "verify: every file (median)" "$(median <"$work/ours")"
result "verify --sample 10 (median)" "$(median <"$work/sampled")"
