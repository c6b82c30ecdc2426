#!/usr/bin/env bash
# Benchmark of the backup engine, side by side in one run:
#   1. our daily `backup-server run` against the same work done by hand with rsync
#      (snapshot with --link-dest, then send it to the mirror with --link-dest);
#   2. our sync on day 21 against the seed's way: rsync -aH --delete of the whole
#      task tree, which re-walks every retained snapshot.
# Usage: bench/engine.sh [FILES] [DAYS]   (defaults 50000 and 20; needs ~1 GB in /tmp)
# Environment: see bench/common.sh (BACKUP_SERVER, BENCH_SEED, BENCH_RESULTS).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
source bench/common.sh

files=${1:-50000}
days=${2:-20}
bench_setup backup-bench rsync sqlite3
mkdir -p "$work"/{src,ours/local,ours/remote,hand/local/data,hand/remote/data,state}

# The source: FILES files of 1 kB in directories of 1000.
make_tree "$work/src" "$files"

cat >"$work/config.yml" <<YAML
dir_backup_local: $work/ours/local
dir_backup_remote: $work/ours/remote
email_sender: bench@example.com
email_report: bench@example.com
retention: {daily: 100}
tasks: [{name: data, dir_source: $work/src}]
YAML

# churn DAY: changes 1% of the files, as a day of use would; which ones and their new
# contents follow BENCH_SEED too (one stream a day, 1000 bytes of it a file).
churn() {
	local f n=$((files / 100)) i=0
	random_bytes "$((n * 1000))" "churn/$1" >"$work/churn"
	random_bytes 1048576 "pick/$1" >"$work/pick" # a file: shuf stops reading it part-way
	find "$work/src" -type f | sort | shuf -n "$n" --random-source="$work/pick" |
		while read -r f; do
			dd if="$work/churn" of="$f" bs=1000 skip="$((i++))" count=1 status=none
		done
}

ours() {
	"$bin" --config "$work/config.yml" --state-dir "$work/state" --no-email --today "$1" run 2>/dev/null
}

# The same work by hand, with the options ours passes (ACLs, xattrs and sparse files
# kept): snapshot linked to yesterday's, then the mirror linked likewise.
hand() {
	local day=$1 prev=$2 link=() options=(-a --delete --hard-links --numeric-ids --acls --xattrs --sparse --modify-window=-1)
	[[ -z $prev ]] || link=(--link-dest="$work/hand/local/data/$prev")
	rsync "${options[@]}" "${link[@]}" "$work/src/" "$work/hand/local/data/.in-progress/"
	mv "$work/hand/local/data/.in-progress" "$work/hand/local/data/$day"
	[[ -z $prev ]] || link=(--link-dest="$work/hand/remote/data/$prev")
	rsync "${options[@]}" "${link[@]}" "$work/hand/local/data/$day/" "$work/hand/remote/data/.in-progress/"
	mv "$work/hand/remote/data/.in-progress" "$work/hand/remote/data/$day"
}

total_ours=0 total_hand=0 prev=""
printf '%-12s %10s %10s\n' day ours hand
for ((i = 0; i < days; i++)); do
	day=$(date -d "2026-01-01 + $i days" +%F)
	((i == 0)) || churn "$day"
	sync
	# Alternate who goes first, so page-cache warmth favours neither.
	if ((i % 2)); then
		h=$(seconds hand "$day" "$prev")
		o=$(seconds ours "$day")
	else
		o=$(seconds ours "$day")
		h=$(seconds hand "$day" "$prev")
	fi
	printf '%-12s %10.2f %10.2f\n' "$day" "$o" "$h"
	if ((i > 0)); then # day 1 is a full copy for both
		total_ours=$(echo "$total_ours + $o" | bc -l)
		total_hand=$(echo "$total_hand + $h" | bc -l)
	fi
	prev=$day
done
printf 'daily runs 2..%d: ours %.2f s, by hand %.2f s, ours/hand = %.3f\n' "$days" "$total_ours" "$total_hand" \
	"$(echo "$total_ours / $total_hand" | bc -l)"
result "engine: nightly runs 2..$days" "$total_ours"

# Day 21: the seed's full-tree mirror against our sync, both from the day-20 mirror.
cp -a "$work/ours/remote" "$work/seed-mirror"
day=$(date -d "2026-01-01 + $days days" +%F)
churn "$day"
ours "$day"
ours_sync=$(sqlite3 "$work/state/log.db" \
	"SELECT ended - started FROM steps WHERE step = 'sync' ORDER BY rowid DESC LIMIT 1")
sync
seed_sync=$(seconds rsync -ahtH --numeric-ids --delete --acls --xattrs "$work/ours/local/data/" "$work/seed-mirror/data/")
snapshots=$(find "$work/ours/local/data" -mindepth 1 -maxdepth 1 | wc -l)
printf 'sync of day %d (%d snapshots): ours %.2f s, seed rsync -aH --delete %.2f s, seed/ours = %.1fx\n' \
	"$((days + 1))" "$snapshots" "$ours_sync" "$seed_sync" "$(echo "$seed_sync / $ours_sync" | bc -l)"
result "engine: sync of day $((days + 1))" "$ours_sync"
