#!/usr/bin/env bash
# Takes one rsync snapshot of a task's source into TASK_DIR/.in-progress. Called by
# backup-server with an argv, after `snapshots.sh prepare`:
#
#   backup.sh TASK_DIR SOURCE EXCLUDES_FILE LINK_DEST [OPTION...]
#
# SOURCE is a local path or user@host:/path; unchanged files are hard-linked to
# TASK_DIR/LINK_DEST ("" for a full copy, and on btrfs, where .in-progress is a
# writable snapshot of the previous snapshot made by `snapshots.sh branch` and
# rsync updates it --inplace); EXCLUDES_FILE holds rsync exclude rules,
# each `- PATTERN` and NUL-terminated; OPTIONs are the rsync options backup-server
# built (its engine/rsync.rs: -a, --delete, the faithful ones, --rsh for a remote
# SOURCE, ...), each one of the few require_options lets through. This script adds
# only what names the paths it guards.
#
# The exit status is rsync's: backup-server tells warnings from failures, and only
# then makes .in-progress the snapshot (`snapshots.sh commit`).
set -euo pipefail
# shellcheck source=snapshot-guards.sh
source "$(dirname "${BASH_SOURCE[0]}")/snapshot-guards.sh"

[[ $# -ge 4 ]] || die "usage: backup.sh TASK_DIR SOURCE EXCLUDES_FILE LINK_DEST [OPTION...]"
task_dir=$1 source=$2 excludes=$3 link_dest=$4
shift 4
require_task_dir "$task_dir"
[[ -z $link_dest ]] || require_snapshot_name "$link_dest"
require_options "$@"
[[ -f $excludes ]] || die "refusing: excludes file '$excludes' does not exist"
# Written through, a symlink would let rsync --delete empty the directory it names.
[[ -d $task_dir && ! -L $task_dir ]] || die "refusing: $task_dir is not a prepared task directory"
[[ ! -L $task_dir/.in-progress ]] || die "refusing: $task_dir/.in-progress is a symlink"

# The excludes are NUL-terminated `- PATTERN` rules: --from0 comes before the file.
args=("$@" --from0 --exclude-from="$excludes")
[[ -z $link_dest ]] || args+=(--link-dest="$task_dir/$link_dest")
echo "rsync ${args[*]} $source/ $task_dir/.in-progress/"
exec rsync "${args[@]}" -- "$source/" "$task_dir/.in-progress/"
