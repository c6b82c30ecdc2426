#!/usr/bin/env bash
# Copies one local snapshot to TARGET_DIR/.in-progress on the backup target. Called
# by backup-server with an argv, after `snapshots.sh prepare` on the target:
#
#   sync_backup_to_remote.sh SSH_CONFIG HOST TARGET_DIR SNAPSHOT LINK_DEST [OPTION...]
#
# HOST is user@host for a target over SSH (configured by SSH_CONFIG) or "" for a
# local path; SNAPSHOT is the local snapshot directory; unchanged files are
# hard-linked to TARGET_DIR/LINK_DEST ("" for a full copy); OPTIONs are extra rsync
# options backup-server chose.
#
# The exit status is rsync's: backup-server tells warnings from failures, and only
# then makes .in-progress the snapshot on the target (`snapshots.sh commit`).
set -euo pipefail
# shellcheck source=snapshot-guards.sh
source "$(dirname "${BASH_SOURCE[0]}")/snapshot-guards.sh"

[[ $# -ge 5 ]] || die "usage: sync_backup_to_remote.sh SSH_CONFIG HOST TARGET_DIR SNAPSHOT LINK_DEST [OPTION...]"
ssh_config=$1 host=$2 dir=$3 snapshot=$4 link_dest=$5
shift 5
require_task_dir "$dir"
require_task_dir "$snapshot"
require_snapshot_name "$(basename "$snapshot")"
[[ -z $link_dest ]] || require_snapshot_name "$link_dest"
[[ -z $host || -n $ssh_config ]] || die "refusing: a remote HOST needs SSH_CONFIG"
require_options "$@"
[[ -d $snapshot && ! -L $snapshot ]] || die "refusing: $snapshot is not a snapshot directory"

args=(-a --hard-links --numeric-ids --delete --stats "$@")
[[ -z $link_dest ]] || args+=(--link-dest="$dir/$link_dest")
destination=$dir/.in-progress/
if [[ -n $host ]]; then
	args+=(--rsh="ssh -F '$ssh_config'")
	destination=$host:$destination
fi
echo "rsync ${args[*]} $snapshot/ $destination"
exec rsync "${args[@]}" -- "$snapshot/" "$destination"
