#!/usr/bin/env bash
# Mirrors snapshots to the backup target. Called by backup-server with an argv:
#
#   sync_backup_to_remote.sh list  SSH_CONFIG HOST DIR
#   sync_backup_to_remote.sh send  SSH_CONFIG HOST DIR LOCAL_TASK_DIR NAME LINK_DEST MODE
#   sync_backup_to_remote.sh prune SSH_CONFIG HOST DIR NAME...
#
# HOST is user@host for a target over SSH (configured by SSH_CONFIG) or "" for a
# local path; DIR is the task's directory on the target.
# list:  prints the entries of DIR, one a line (nothing when DIR does not exist yet).
# send:  copies LOCAL_TASK_DIR/NAME to DIR/.in-progress, hard-linking unchanged files
#        to DIR/LINK_DEST, then renames it to DIR/NAME: a snapshot appears on the
#        target under its name only once it is complete there.
# prune: deletes DIR/NAME for each NAME (the retention policy applied to the target's
#        own snapshots; never "whatever is missing locally").
set -euo pipefail
# shellcheck source=snapshot-guards.sh
source "$(dirname "${BASH_SOURCE[0]}")/snapshot-guards.sh"

[[ $# -ge 4 ]] || die "usage: sync_backup_to_remote.sh list|send|prune SSH_CONFIG HOST DIR ..."
command=$1 ssh_config=$2 host=$3 dir=$4
shift 4
require_task_dir "$dir"
[[ -z $host || -n $ssh_config ]] || die "refusing: a remote HOST needs SSH_CONFIG"

# Runs a command on the target: through ssh (each word quoted for the remote shell)
# or right here.
on_target() {
	if [[ -n $host ]]; then
		ssh -F "$ssh_config" -- "$host" "$(printf '%q ' "$@")"
	else
		"$@"
	fi
}

# rsync's view of the target directory: host:dir or dir.
target_path() {
	if [[ -n $host ]]; then echo "$host:$1"; else echo "$1"; fi
}

case $command in
list)
	[[ $# -eq 0 ]] || die "usage: sync_backup_to_remote.sh list SSH_CONFIG HOST DIR"
	# shellcheck disable=SC2016 # expanded by the target's sh
	on_target sh -c 'if [ -d "$1" ]; then ls -1a -- "$1"; fi' sh "$dir"
	;;
send)
	[[ $# -eq 4 ]] || die "usage: sync_backup_to_remote.sh send SSH_CONFIG HOST DIR LOCAL_TASK_DIR NAME LINK_DEST MODE"
	local_dir=$1 name=$2 link_dest=$3 mode=$4
	require_task_dir "$local_dir"
	require_snapshot_name "$name"
	[[ -z $link_dest ]] || require_snapshot_name "$link_dest"
	require_mode "$mode"
	[[ -d $local_dir/$name ]] || die "refusing: $local_dir/$name is not a snapshot directory"

	# mkdir without -p: a missing target disk must fail, not be created.
	# shellcheck disable=SC2016
	on_target sh -c '[ -d "$1" ] || mkdir -- "$1"' sh "$dir"
	on_target sh -c "$CLEAN_LEFTOVERS" sh "$dir" "$mode"

	args=(-a --hard-links --numeric-ids --delete --stats)
	[[ -z $link_dest ]] || args+=(--link-dest="$dir/$link_dest")
	[[ -z $host ]] || args+=(--rsh="ssh -F '$ssh_config'")
	echo "rsync ${args[*]} $local_dir/$name/ $(target_path "$dir/.in-progress/")"
	rsync "${args[@]}" -- "$local_dir/$name/" "$(target_path "$dir/.in-progress/")"
	echo "completing snapshot $(target_path "$dir/$name")"
	on_target sh -c "$SWAP_IN_SNAPSHOT" sh "$dir" "$name"
	;;
prune)
	[[ $# -ge 1 ]] || die "usage: sync_backup_to_remote.sh prune SSH_CONFIG HOST DIR NAME..."
	for name in "$@"; do require_snapshot_name "$name"; done
	for name in "$@"; do
		echo "deleting $(target_path "$dir/$name")"
		# shellcheck disable=SC2016
		on_target sh -c '[ -d "$1" ] && [ ! -L "$1" ] || { echo "refusing $1: not a snapshot directory" >&2; exit 2; }
rm -rf -- "$1"' sh "$dir/$name"
	done
	;;
*) die "usage: sync_backup_to_remote.sh list|send|prune ..." ;;
esac
