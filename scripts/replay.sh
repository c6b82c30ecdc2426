#!/usr/bin/env bash
# Brings a link farm (TASK_DIR/.in-progress, a hard-link copy of TASK_DIR/BASE made by
# `snapshots.sh farm`), or a writable btrfs snapshot of the newest snapshot (BASE "",
# made by `snapshots.sh branch`), up to date with SOURCE from a change list, instead of
# walking the whole tree. Called by backup-server with an argv:
#
#   replay.sh HOST TASK_DIR SOURCE BASE BREAKS LIST [OPTION...]
#
# HOST is user@host for a target over SSH, or "" when TASK_DIR is here; SOURCE is a
# local path or user@host:/path (a backup's source, or the local snapshot a sync
# sends). BREAKS and LIST are files of NUL-terminated paths relative to SOURCE, from
# rsync's itemized dry run of SOURCE against BASE or from the source read alone against
# its record (backup-server's engine/farm.rs and engine/manifest.rs):
#   BREAKS  every entry that goes or changes and is not a directory: each is removed
#           from the farm first, so what rsync then writes gets an inode of its own.
#           rsync applies a change of mode, owner, time, ACL or xattr to the inode it
#           finds, and in a farm that inode is also BASE's: BASE would change too.
#           (On btrfs, what goes, and what copy-on-write cannot keep apart.)
#   LIST    every entry that is new or changed, which rsync then transfers, each
#           missing one removed (it went since the list was made), BASE the basis
#           for the delta and for hard links to what did not change; never `.`.
# OPTIONs are the rsync options backup-server built, each one of the few
# require_options lets through. This script adds only what names the paths it guards.
#
# The exit status is rsync's: backup-server tells warnings from failures, and only
# then makes .in-progress the snapshot (`snapshots.sh commit`).
set -euo pipefail
# shellcheck source=snapshot-guards.sh
source "$(dirname "${BASH_SOURCE[0]}")/snapshot-guards.sh"

[[ $# -ge 6 ]] || die "usage: replay.sh HOST TASK_DIR SOURCE BASE BREAKS LIST [OPTION...]"
host=$1 dir=$2 source=$3 base=$4 breaks=$5 list=$6
shift 6
require_task_dir "$dir"
[[ -z $base ]] || require_snapshot_name "$base"
require_options "$@"
[[ -f $breaks && -f $list ]] || die "refusing: the change lists '$breaks' and '$list' must be files"
# A remote HOST is reached only through the run's ssh_config, never ssh's defaults.
[[ -z $host ]] || [[ " $* " == *" --rsh=ssh -F "* ]] || die "refusing: a remote HOST needs --rsh=ssh -F SSH_CONFIG"
if [[ -z $host ]]; then
	# Written through, a symlink would let the removals reach what it names.
	[[ ! -L $dir && -d $dir/.in-progress && ! -L $dir/.in-progress ]] || die "refusing: $dir/.in-progress is not a link farm"
fi
destination=$dir/.in-progress/
[[ -z $host ]] || destination=$host:$destination

# The removals, on the farm's own host: `xargs -0 rm -rf` inside .in-progress, fed
# BREAKS on stdin. The paths are rsync's: relative, without `..`, each found by rsync's
# walk of BASE through real directories, and a farm's directories are its own, so no
# removal goes through a symlink. (For a remote HOST the command is quoted for any POSIX
# shell, whatever the target user's login shell is.)
# shellcheck disable=SC2016 # expanded by the sh that runs it
unlink='cd -- "$1" && [ -d .in-progress ] && [ ! -L .in-progress ] ||
	{ echo "replay.sh: refusing: $1/.in-progress is not a link farm" >&2; exit 2; }
cd .in-progress && exec xargs -0 -r rm -rf --'
if [[ -z $host ]]; then
	# This bash, not `sh`: the Nix package's wrapper gives the script no other shell.
	bash -c "$unlink" bash "$dir" <"$breaks"
else
	rsh=
	for option in "$@"; do
		[[ $option != --rsh=* ]] || rsh=${option#--rsh=}
	done
	# require_options let through only `ssh -F 'CONFIG'`: CONFIG is what is quoted.
	config=${rsh#ssh -F \'}
	config=${config%\'}
	echo "ssh -F $config $host sh -c '<remove the paths of $breaks>' sh $dir"
	ssh -F "$config" -- "$host" "sh -c '$unlink' sh '${dir//\'/\'\\\'\'}'" <"$breaks"
fi

# rsync transfers LIST; --force lets a file replace a directory that is now empty.
args=("$@" --force --from0 --files-from="$list" --delete-missing-args)
[[ -z $base ]] || args+=(--link-dest="$dir/$base")
echo "rsync ${args[*]} $source/ $destination"
status=0
rsync "${args[@]}" -- "$source/" "$destination" || status=$?
# 23 and 24 are partial transfers backup-server may take as warnings.
[[ $status -eq 0 || $status -eq 23 || $status -eq 24 ]] || exit "$status"
# A list never names the snapshot's own top directory: rsync would go through every
# entry in it (a listed `.` is a directory whose contents are sent), and could change
# one it shares with BASE. Its owner, mode and times are set alone, last, since what
# was written into it changed them (quietly: the figures are the transfer's).
quiet=()
for option in "$@"; do
	[[ $option == --stats || $option == --info=* ]] || quiet+=("$option")
done
rsync "${quiet[@]}" --exclude='/*' -- "$source/" "$destination"
exit "$status"
