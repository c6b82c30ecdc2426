#!/usr/bin/env bash
# Nights against the tools users would pick instead (issue #20), side by side in one run:
# backup-server, rsync-time-backup, rsnapshot and restic each take a local snapshot of the
# same tree and mirror it to a second disk, on loop-mounted ext4 and btrfs images. A first
# night (the full copy), then NIGHTS nights of 1% churn and NIGHTS unchanged, each one timed
# per tool in a memory cgroup of its own, the order of the tools rotated every night.
# Prints, per file system: median seconds, ratios to restic and to backup-server, the
# largest single process's peak RSS and the cgroup's peak; and the floor, one bare walk of
# the source (rsync -an --delete SRC/ EMPTY/). Every raw figure goes to the log.
# Usage: sudo bench/nights.sh [FILES] [NIGHTS]   (defaults 50000 and 3; at 50000 files two
#        sparse 3.2 GB images in /tmp, ~3 GB of them written, and ~11 minutes per file system)
# Environment: FILES, NIGHTS (as the arguments), BENCH_FS (default "ext4 btrfs"), BENCH_TOOLS
#   (default all four: "backup-server rsync-time-backup rsnapshot restic"; the ratio columns
#   need backup-server and restic),
#   BENCH_LOG (default /tmp/backup-nights.log), RSYNC_TMBACKUP (default
#   /var/tmp/rsync-time-backup/rsync_tmbackup.sh), and bench/common.sh's BACKUP_SERVER, BENCH_SEED.
set -euo pipefail
shopt -s inherit_errexit # a tool failing inside $(seconds ...) stops the run
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
source bench/common.sh
# shellcheck source=bench/nights-lib.sh
source bench/nights-lib.sh

files=${1:-${FILES:-50000}}
nights=${2:-${NIGHTS:-3}}
read -r -a filesystems <<<"${BENCH_FS:-ext4 btrfs}"
log=$(realpath -m "${BENCH_LOG:-/tmp/backup-nights.log}")
rtb=${RSYNC_TMBACKUP:-/var/tmp/rsync-time-backup/rsync_tmbackup.sh}
# Its script is GPL and not ours to ship: it is fetched beside the project, never committed.
[[ -x $rtb ]] || {
	echo "no rsync-time-backup at $rtb: fetch it with" >&2
	echo "  git clone https://github.com/laurent22/rsync-time-backup ${rtb%/*}" >&2
	exit 1
}
[[ $EUID -eq 0 ]] || { echo "run as root: it mounts loop images and makes cgroups" >&2; exit 1; }
export BENCH_SEED=${BENCH_SEED:-nights}
read -r -a tools <<<"${BENCH_TOOLS:-backup-server rsync-time-backup rsnapshot restic}"
# Checked before anything is built or made: a name with no night, or a table without the two it
# divides by, would fail only after the first file system's nights.
for tool in "${tools[@]}"; do
	declare -F "night_$tool" >/dev/null || { echo "BENCH_TOOLS: no tool '$tool'" >&2; exit 1; }
done
[[ " ${tools[*]} " == *" backup-server "* && " ${tools[*]} " == *" restic "* ]] ||
	{ echo "BENCH_TOOLS must name backup-server and restic: the table's ratios are to them" >&2; exit 1; }
bench_setup backup-nights rsync restic rsnapshot btrfs-progs e2fsprogs time perl
trap cleanup EXIT
trap 'exit 130' INT TERM # so an interrupted run still unmounts its images
cgroup_setup
{
	printf '# %s, %s files, %s nights of each kind, seed %s, load %s\n' "$(date -u '+%F %H:%M UTC')" \
		"$files" "$nights" "$BENCH_SEED" "$(cut -d' ' -f1-3 /proc/loadavg)"
	printf '# fs\ttool\tnight\tindex\tseconds\tmax_rss_kb\tcgroup_peak_kb\n'
} >"$log"

for fs in "${filesystems[@]}"; do
	disks "$fs"
	make_source "$a/src" "$files"
	tools_init
	# Night 0 is the full copy; then 1% and unchanged nights alternate.
	for ((i = 0; i <= 2 * nights; i++)); do
		kind=full
		((i == 0)) || kind=$( ((i % 2)) && echo 1% || echo 0%)
		[[ $kind != 1% ]] || echo "# $fs night $i: $(churn "$a/src" "$i")" >>"$log"
		sync
		floor=$(seconds rsync -an --delete "$a/src/" "$work/empty/")
		printf '%s\tfloor\t%s\t%d\t%s\t\t\n' "$fs" "$kind" "$i" "$floor" >>"$log"
		# Rotate who goes first, so page-cache warmth favours no tool.
		for ((k = 0; k < ${#tools[@]}; k++)); do
			measure "$fs" "${tools[(i + k) % ${#tools[@]}]}" "$kind" "$i"
		done
		echo "$fs night $i ($kind) done, load $(cut -d' ' -f1 /proc/loadavg)" >&2
	done
	report "$fs" "$files"
	undisks
done
echo "raw figures: $log"
