#!/usr/bin/env bash
# Issue #20 item 2, measured before it is built: is a night made as a link farm faster than
# rsync's own --link-dest on a file system without copy-on-write (ext4, loop-mounted)?
# Side by side in one run, on the nights benchmark's tree and churn, each 1% night both ways
# from the same previous snapshot, the order alternated:
#   link-dest   rsync [backup-server's flags] --link-dest=PREV SRC/ NEW/
#   link farm   the change list (rsync -n -i SRC/ PREV/), cp -al PREV NEW, a link of its own
#               for every file whose contents or metadata change (rm, so rsync writes it
#               anew; an inode shared with PREV must never be changed), the deletions, then
#               rsync --files-from=the change list SRC/ NEW/
# After each night both new snapshots must equal the source and PREV must not have changed
# (a chmod or touch through a shared inode would show here). Prints the medians.
# Usage: sudo bench/linkfarm.sh [FILES] [NIGHTS]   (defaults 50000 and 5)
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
source bench/common.sh
# shellcheck source=bench/nights-lib.sh
source bench/nights-lib.sh

files=${1:-${FILES:-50000}}
nights=${2:-${NIGHTS:-5}}
[[ $EUID -eq 0 ]] || { echo "run as root: it mounts a loop image" >&2; exit 1; }
export BENCH_SEED=${BENCH_SEED:-nights}
bench_setup backup-linkfarm rsync e2fsprogs perl
log=$work/log
trap cleanup EXIT
disks ext4
# backup-server's own flags for a snapshot (src/engine/rsync.rs).
flags=(-a --hard-links --numeric-ids --acls --xattrs --sparse --modify-window=-1)
make_source "$a/src" "$files"
mkdir "$a/ld" "$a/lf"
rsync "${flags[@]}" "$a/src/" "$a/ld/0/"
cp -al "$a/ld/0" "$a/lf/0"

link_dest() { rsync "${flags[@]}" --delete --link-dest="$a/ld/$1" "$a/src/" "$a/ld/$2/"; }

link_farm() {
	local prev=$a/lf/$1 new=$a/lf/$2 line item path
	# %i is always 11 characters: the path starts at the 13th.
	rsync -n -i "${flags[@]}" --delete --out-format='%i %n' "$a/src/" "$prev/" >"$work/changes"
	cp -al "$prev" "$new"
	: >"$work/list"
	while IFS= read -r line; do
		item=${line:0:11} path=${line:12}
		case $item in
		'*deleting'*) rm -rf -- "${new:?}/$path" ;;
		[.\>]f+++++++++) echo "$path" >>"$work/list" ;;
		[.\>]f*) rm -f -- "$new/$path" && echo "$path" >>"$work/list" ;; # a link of its own
		*) echo "$path" >>"$work/list" ;;                                 # a directory's times
		esac
	done <"$work/changes"
	rsync "${flags[@]}" --files-from="$work/list" "$a/src/" "$new/"
}

# state DIR: every entry's path, mode, owner, times, size and inode, sorted.
state() { (cd "$1" && find . -printf '%p %m %U %G %T@ %s %i\n' | sort); }

faithful() { # faithful NEW PREV_STATE_FILE PREV: NEW equals the source, PREV is unchanged
	[[ -z $(rsync -n -i -c "${flags[@]}" --delete "$a/src/" "$1/") ]] || { echo "$1 differs from the source" >&2; exit 1; }
	state "$3" | cmp -s - "$2" || { echo "$3 changed while $1 was made" >&2; exit 1; }
}

for ((n = 1; n <= nights; n++)); do
	echo "night $n: $(churn "$a/src" "$n")" >&2
	state "$a/ld/$((n - 1))" >"$work/ld.state"
	state "$a/lf/$((n - 1))" >"$work/lf.state"
	sync
	if ((n % 2)); then order=(link_dest link_farm); else order=(link_farm link_dest); fi
	for way in "${order[@]}"; do
		printf '%s\t%s\n' "$way" "$(seconds "$way" "$((n - 1))" "$n")" >>"$log"
	done
	faithful "$a/ld/$n" "$work/ld.state" "$a/ld/$((n - 1))"
	faithful "$a/lf/$n" "$work/lf.state" "$a/lf/$((n - 1))"
done
printf '\next4, %s files, %s nights of 1%% churn, load %s\n' "$files" "$nights" "$(cut -d' ' -f1-3 /proc/loadavg)"
for way in link_dest link_farm; do
	printf '%s: median %.2f s (%s)\n' "$way" "$(awk -v w="$way" '$1 == w { print $2 }' "$log" | median)" \
		"$(awk -v w="$way" '$1 == w { printf "%.2f ", $2 }' "$log")"
done
