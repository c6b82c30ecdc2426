#!/usr/bin/env bash
# Copies one local snapshot to TARGET_DIR/.in-progress on the backup target. Called
# by backup-server with an argv, after `snapshots.sh prepare` on the target:
#
#   sync_backup_to_remote.sh HOST TARGET_DIR SNAPSHOT LINK_DEST [OPTION...]
#
# HOST is user@host for a target over SSH or "" for a local path; SNAPSHOT is the
# local snapshot directory; unchanged files are hard-linked to TARGET_DIR/LINK_DEST
# ("" for a full copy); OPTIONs are the rsync options backup-server built (its
# engine/rsync.rs: -a, --delete, the faithful ones, --rsh through the run's
# ssh_config for a remote HOST, ...), each one of the few require_options lets
# through. This script adds only what names the paths it guards.
#
# The exit status is rsync's: backup-server tells warnings from failures, and only
# then makes .in-progress the snapshot on the target (`snapshots.sh commit`).
set -euo pipefail
# shellcheck source=snapshot-guards.sh
source "$(dirname "${BASH_SOURCE[0]}")/snapshot-guards.sh"

[[ $# -ge 4 ]] || die "usage: sync_backup_to_remote.sh HOST TARGET_DIR SNAPSHOT LINK_DEST [OPTION...]"
host=$1 dir=$2 snapshot=$3 link_dest=$4
shift 4
require_task_dir "$dir"
require_task_dir "$snapshot"
require_snapshot_name "$(basename "$snapshot")"
[[ -z $link_dest ]] || require_snapshot_name "$link_dest"
require_options "$@"
# A remote HOST is reached only through the run's ssh_config, never ssh's defaults.
[[ -z $host ]] || [[ " $* " == *" --rsh=ssh -F "* ]] || die "refusing: a remote HOST needs --rsh=ssh -F SSH_CONFIG"
[[ -d $snapshot && ! -L $snapshot ]] || die "refusing: $snapshot is not a snapshot directory"

args=("$@")
[[ -z $link_dest ]] || args+=(--link-dest="$dir/$link_dest")
destination=$dir/.in-progress/
[[ -z $host ]] || destination=$host:$destination
echo "rsync ${args[*]} $snapshot/ $destination"
exec rsync "${args[@]}" -- "$snapshot/" "$destination"
