# shellcheck shell=bash
# Guards and helpers shared by the step scripts. Sourced, never run.
#
# backup-server decides every path and name; these checks are the scripts' own
# last line of defence, so that a bug upstream can never point rm or rsync at
# something that is not a snapshot inside a task's directory.

die() {
	echo "$(basename "$0"): $*" >&2
	exit 2
}

# A snapshot is a directory named YYYY-MM-DD, nothing else.
require_snapshot_name() {
	[[ $1 =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] || die "refusing '$1': not a YYYY-MM-DD snapshot name"
}

# A task directory is absolute, is not /, and has no '..' component.
require_task_dir() {
	[[ $1 == /?* ]] || die "refusing '$1': task directory must be an absolute path"
	[[ $1 != */ && $1 != *//* ]] || die "refusing '$1': task directory must be a normalised path"
	[[ /$1/ != */../* && /$1/ != */./* ]] || die "refusing '$1': task directory must not contain '.' or '..'"
}

# Replaces DIR/NAME with DIR/.in-progress in two renames, so that DIR/NAME is
# always either the old complete snapshot or the new one (a same-day re-run).
# Run by sh, locally or on the remote host: argv is "$DIR" "$NAME".
# shellcheck disable=SC2016,SC2034 # expanded by the sh that runs it; used by the sourcing script
SWAP_IN_SNAPSHOT='set -eu
dir=$1 name=$2
if [ -e "$dir/$name" ]; then
	mv -T -- "$dir/$name" "$dir/.replaced-$name"
	mv -T -- "$dir/.in-progress" "$dir/$name"
	rm -rf -- "$dir/.replaced-$name"
else
	mv -T -- "$dir/.in-progress" "$dir/$name"
fi'

# Removes what a killed run left behind in DIR: an unfinished .in-progress
# (unless KEEP_PARTIAL is "resume") and any .replaced-* from an interrupted swap.
# Run by sh; argv is "$DIR" "$MODE".
# shellcheck disable=SC2016,SC2034
CLEAN_LEFTOVERS='set -eu
dir=$1 mode=$2
if [ "$mode" != resume ] && [ -e "$dir/.in-progress" ]; then
	echo "removing unfinished $dir/.in-progress left by an earlier run"
	rm -rf -- "$dir/.in-progress"
fi
for old in "$dir"/.replaced-*; do
	[ -e "$old" ] || continue
	echo "removing $old left by an interrupted swap"
	rm -rf -- "$old"
done'

require_mode() {
	[[ $1 == fresh || $1 == resume ]] || die "refusing mode '$1': expected fresh or resume"
}
