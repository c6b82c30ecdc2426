#!/usr/bin/env bash
# Two revisions side by side in one run: builds each one's release binary in a scratch
# worktree of its own (own CARGO_TARGET_DIR, all removed at the end), then runs every
# benchmark of this checkout's bench/ for both binaries, interleaved, ROUNDS rounds, on the
# same data (BENCH_SEED), and prints each of our binary's figures: the median of the rounds
# before and after, the change, and "SLOWER" where after is more than 5% slower.
# Exit status 1 when one is. The sizes are smaller than the benchmarks' defaults, so that a
# whole comparison stays well under 15 minutes on a 2-core machine; the full logs are kept
# in a file named at the end. Run as root (bench/bwlimit.sh starts sshd).
# Usage: bench/compare.sh [BEFORE] [AFTER]   (git revisions; defaults 9b185b5 and HEAD)
# Environment: ROUNDS (default 3), LOG (default /tmp/backup-compare.log)
set -euo pipefail
cd "$(dirname "$0")/.."

# Resolved now, so HEAD means this checkout's HEAD, and a typo fails before any build.
before=$(git rev-parse --verify "${1:-9b185b5}^{commit}")
after=$(git rev-parse --verify "${2:-HEAD}^{commit}")
rounds=${ROUNDS:-3}
log=$(realpath -m "${LOG:-/tmp/backup-compare.log}")
# Each benchmark's arguments here: big enough to measure, small enough for 2 x ROUNDS runs.
declare -A args=([engine]="5000 4" [site]="3" [verify]="5000 3" [bwlimit]="4 2000")
benchmarks=(engine site verify bwlimit)

scratch=$(mktemp -d /tmp/backup-compare.XXXXXX)
cleanup() {
	local side
	for side in before after; do
		# Through git, so the repository forgets the scratch worktrees as well.
		[[ ! -d $scratch/$side/src ]] || git worktree remove --force "$scratch/$side/src" || true
	done
	rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM # so an interrupted comparison still removes its worktrees
: >"$log"

# build SIDE REV: REV's release binary at $scratch/SIDE/target/release/backup-server. The
# worktree stays until the end: the binary finds its step scripts in the tree it was built from.
build() {
	echo "building $1 ($2)" >&2
	git worktree add --quiet --detach "$scratch/$1/src" "$2"
	(cd "$scratch/$1/src" && CARGO_TARGET_DIR=$scratch/$1/target cargo build --release --quiet) >>"$log" 2>&1
}
build before "$before"
# After's target dir starts as a copy of before's: cargo then rebuilds only what differs (the
# crate itself, changed dependencies), not every dependency again on a shared 2-core machine.
mkdir "$scratch/after"
cp -a "$scratch/before/target" "$scratch/after/target"
build after "$after"

# measure SIDE BENCHMARK: one run of bench/BENCHMARK.sh with SIDE's binary; its figures are
# appended to $scratch/SIDE.results.
measure() {
	local a
	read -ra a <<<"${args[$2]}"
	echo "== $1: bench/$2.sh ${a[*]}" >>"$log"
	if ! BACKUP_SERVER=$scratch/$1/target/release/backup-server BENCH_SEED=compare \
		BENCH_RESULTS=$scratch/$1.results "bench/$2.sh" "${a[@]}" >>"$log" 2>&1; then
		echo "bench/$2.sh failed for $1; the end of $log:" >&2
		tail -20 "$log" >&2
		exit 2
	fi
}

start=$SECONDS
for ((round = 1; round <= rounds; round++)); do
	echo "round $round of $rounds" >&2
	for benchmark in "${benchmarks[@]}"; do
		# Who goes first alternates each round, so neither gains from going first or second.
		if ((round % 2)); then
			measure before "$benchmark"
			measure after "$benchmark"
		else
			measure after "$benchmark"
			measure before "$benchmark"
		fi
	done
done
echo "$rounds rounds in $((SECONDS - start)) s; before $before, after $after; logs in $log" >&2

# Keep the figures with the logs: the scratch directory goes at the end.
for side in before after; do sed "s/^/result $side: /" "$scratch/$side.results" >>"$log"; done

# One row a figure, in the order the benchmarks give them: the medians of the rounds, and the
# change as the median of each round's after/before, since the two runs of a round are next to
# each other in time and share the machine's load; the exit status is 1 when one is SLOWER.
awk -F '\t' -v limit=5 '
	function median(list,   n, v, i, j, t) {
		n = split(list, v, " ")
		for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
		return v[int((n + 1) / 2)]
	}
	FNR == 1 { side = (side == "" ? "before" : "after") }
	{
		if (!($1 in seen)) { seen[$1] = 1; order[++rows] = $1 }
		times[side, $1] = times[side, $1] " " $2
		round = ++count[side, $1] # the k-th figure of a label on each side is from round k
		if (side == "before") first[$1, round] = $2
		else if (first[$1, round] > 0) ratios[$1] = ratios[$1] " " $2 / first[$1, round]
	}
	END {
		printf "%-38s %10s %10s %8s  %s\n", "benchmark", "before s", "after s", "change", "verdict"
		for (r = 1; r <= rows; r++) {
			name = order[r]
			change = (median(ratios[name]) - 1) * 100
			verdict = change > limit ? "SLOWER" : "ok"
			if (verdict == "SLOWER") slower = 1
			printf "%-38s %10.3f %10.3f %+7.1f%%  %s\n", name, median(times["before", name]),
				median(times["after", name]), change, verdict
		}
		exit slower
	}' "$scratch/before.results" "$scratch/after.results"
