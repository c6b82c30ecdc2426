#!/usr/bin/env bash
# Deletes exactly the snapshots it is given. Called by backup-server with an argv:
#
#   delete_old_backups.sh TASK_DIR NAME...
#
# backup-server computes NAME... from the retention policy. Every name is checked
# before anything is deleted, so a bad argument deletes nothing at all.
set -euo pipefail
# shellcheck source=snapshot-guards.sh
source "$(dirname "${BASH_SOURCE[0]}")/snapshot-guards.sh"

[[ $# -ge 2 ]] || die "usage: delete_old_backups.sh TASK_DIR NAME..."
task_dir=$1
shift
require_task_dir "$task_dir"
for name in "$@"; do
	require_snapshot_name "$name"
	[[ -d $task_dir/$name && ! -L $task_dir/$name ]] || die "refusing '$task_dir/$name': not a snapshot directory"
done
for name in "$@"; do
	echo "deleting $task_dir/$name"
	rm -rf -- "${task_dir:?}/$name"
done
