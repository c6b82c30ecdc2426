#!/usr/bin/env bash
# Takes one rsync snapshot of a task's source. Called by backup-server with an argv:
#
#   backup.sh take   TASK_DIR NAME SOURCE EXCLUDES_FILE LINK_DEST MODE SSH_CONFIG
#   backup.sh commit TASK_DIR NAME
#
# take:   rsyncs SOURCE (a local path or user@host:/path) into TASK_DIR/.in-progress,
#         hard-linking unchanged files to TASK_DIR/LINK_DEST ("" for a full copy).
#         MODE "fresh" first deletes a leftover .in-progress; "resume" keeps it
#         (safe only for a full copy, where nothing in it is linked to older snapshots).
#         SSH_CONFIG is the ssh_config for a remote SOURCE ("" for a local one).
# commit: makes TASK_DIR/.in-progress the snapshot TASK_DIR/NAME.
#
# rsync's exit status is this script's: backup-server tells warnings from failures.
set -euo pipefail
# shellcheck source=snapshot-guards.sh
source "$(dirname "${BASH_SOURCE[0]}")/snapshot-guards.sh"

take() {
	[[ $# -eq 7 ]] || die "usage: backup.sh take TASK_DIR NAME SOURCE EXCLUDES_FILE LINK_DEST MODE SSH_CONFIG"
	local task_dir=$1 name=$2 source=$3 excludes=$4 link_dest=$5 mode=$6 ssh_config=$7
	require_task_dir "$task_dir"
	require_snapshot_name "$name"
	[[ -z $link_dest ]] || require_snapshot_name "$link_dest"
	require_mode "$mode"
	[[ -f $excludes ]] || die "refusing: excludes file '$excludes' does not exist"

	# mkdir without -p: a missing backup disk must fail here, not be created on /.
	[[ -d $task_dir ]] || mkdir -- "$task_dir"
	sh -c "$CLEAN_LEFTOVERS" sh "$task_dir" "$mode"

	local args=(-a --delete --hard-links --numeric-ids --stats --exclude-from="$excludes")
	[[ -z $link_dest ]] || args+=(--link-dest="$task_dir/$link_dest")
	[[ -z $ssh_config ]] || args+=(--compress --rsh="ssh -F '$ssh_config'")
	echo "rsync ${args[*]} $source/ $task_dir/.in-progress/"
	exec rsync "${args[@]}" -- "$source/" "$task_dir/.in-progress/"
}

commit() {
	[[ $# -eq 2 ]] || die "usage: backup.sh commit TASK_DIR NAME"
	local task_dir=$1 name=$2
	require_task_dir "$task_dir"
	require_snapshot_name "$name"
	[[ -d $task_dir/.in-progress ]] || die "refusing: $task_dir/.in-progress does not exist"
	echo "completing snapshot $task_dir/$name"
	sh -c "$SWAP_IN_SNAPSHOT" sh "$task_dir" "$name"
}

command=${1:-}
shift || true
case $command in
take) take "$@" ;;
commit) commit "$@" ;;
*) die "usage: backup.sh take|commit ..." ;;
esac
