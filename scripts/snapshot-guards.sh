# shellcheck shell=bash
# Guards shared by the transfer scripts (backup.sh, sync_backup_to_remote.sh).
# Sourced, never run.
#
# backup-server decides every path, name and rsync option; these checks are the
# scripts' own last line of defence, so that a bug upstream can never point rsync
# at something that is not a task directory's .in-progress.

die() {
	echo "$(basename "$0"): $*" >&2
	exit 2
}

# A snapshot is a directory named YYYY-MM-DD, nothing else.
require_snapshot_name() {
	[[ $1 =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] || die "refusing '$1': not a YYYY-MM-DD snapshot name"
}

# A task directory is absolute, is not /, and has no '.' or '..' component.
require_task_dir() {
	[[ $1 == /?* ]] || die "refusing '$1': task directory must be an absolute path"
	[[ $1 != */ && $1 != *//* ]] || die "refusing '$1': task directory must be a normalised path"
	[[ /$1/ != */../* && /$1/ != */./* ]] || die "refusing '$1': task directory must not contain '.' or '..'"
}

# The rsync options backup-server builds for a transfer (engine/rsync.rs), and
# nothing else: no option that names another path, runs another program or deletes
# outside the destination gets through.
require_options() {
	local option
	for option in "$@"; do
		[[ $option =~ ^(-a|--hard-links|--numeric-ids|--delete|--stats|--acls|--xattrs|--sparse|--modify-window=-1|--fake-super|--remote-option=--fake-super|--one-file-system|--inplace|--compress|--bwlimit=[0-9]+|--info=progress2|--rsh=ssh\ -F\ \'[^\']+\')$ ]] ||
			die "refusing rsync option '$option'"
	done
}
