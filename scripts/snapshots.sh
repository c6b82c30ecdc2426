#!/bin/sh
# Changes the set of snapshots in one task directory, on the backup disk or on a
# target. backup-server runs it here with an argv, and on an SSH target as
# `ssh HOST sh -s -- OP DIR ...` with this text on stdin, so it is POSIX sh: dash,
# busybox ash and bash all run it, whatever the target user's login shell.
#
#   snapshots.sh list    DIR                  the entries of DIR and its free space
#   snapshots.sh prepare DIR fresh|resume [NAME...]
#                                             create DIR; finish or undo what a killed run
#                                             left (NAME...: the .replaced-NAME to resolve)
#   snapshots.sh commit  DIR NAME new|replace make DIR/.in-progress the snapshot DIR/NAME
#   snapshots.sh prune   DIR NAME...          remove the snapshots DIR/NAME...
#   snapshots.sh lookup  DIR NAME [PART...]   what DIR/NAME/PART/... is, part by part
#                                             (reads only: for a restore)
#   snapshots.sh identify DIR                 where DIR really is: the real path of its
#                                             nearest existing directory, symlinks
#                                             resolved, and the rest (reads only)
#
# Every change to the set of snapshots is one rename: a snapshot appears under its
# name when .in-progress is renamed to it, and disappears when it is renamed to a
# hidden .deleting-* name (deleted after, here or by the next run). A same-day
# replacement parks the old snapshot as .replaced-NAME between its two renames;
# `prepare` puts it back if a run was killed there. Only real directories named
# YYYY-MM-DD are snapshots; nothing is followed through a symlink, and an entry this
# script did not make is never touched: one in the way fails the call, naming it.
#
# Every call but lookup and identify ends by listing DIR on stdout, as it is then: each entry "TYPE NAME"
# followed by a NUL (TYPE: d directory, l symlink, f file, o other), so no file name
# can break the listing; "u UID": the user it runs as (a target's user that is not
# root cannot set owners); and, but after `prepare`, "s KIB TOTAL_KIB INODES TOTAL_INODES":
# the free and total space of DIR's file system ("-" where df cannot tell). What it did goes to stderr as
# "note: " lines, and what it could not clean up as "warning: " lines.
#
# backup-server decides every name; the checks here are the last line of defence.
# Exit status: 0 done, 2 refused, 3 the directory's disk is not there.
set -eu

die() {
	printf 'snapshots.sh: %s\n' "$*" >&2
	exit 2
}

is_date() {
	case $1 in
	[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]) return 0 ;;
	esac
	return 1
}

# Sets $kind to what is at $1, never following a symlink: d directory, l symlink,
# f regular file, o anything else, - nothing. (A variable, not output: no subshell
# per entry.)
kind_of() {
	if [ -L "$1" ]; then
		kind=l
	elif [ -d "$1" ]; then
		kind=d
	elif [ -f "$1" ]; then
		kind=f
	elif [ -e "$1" ]; then
		kind=o
	else
		kind=-
	fi
}

is_kind() {
	kind_of "$1"
	[ "$kind" = "$2" ]
}

describe() {
	kind_of "$1"
	case $kind in
	l) echo "a symlink" ;;
	f) echo "a file" ;;
	d) echo "a directory" ;;
	*) echo "not a directory" ;;
	esac
}

note() {
	printf 'note: %s\n' "$*" >&2
}

unavailable() {
	printf 'snapshots.sh: %s\n' "$*" >&2
	exit 3
}

foreign() {
	die "$1 is $(describe "$1"), not a directory backup-server made; it never touches what it did not make: move it away"
}

# An absolute, normalised path, not /, not a symlink.
require_task_dir() {
	case $1 in
	/?*) ;;
	*) die "refusing '$1': a task directory must be an absolute path" ;;
	esac
	case $1/ in
	*//* | */./* | */../*) die "refusing '$1': a task directory must be a plain path" ;;
	esac
	! is_kind "$1" l || die "refusing $1: it is a symlink; a task directory must be a real directory"
}

# Renames $1 to a hidden .deleting-* name in its directory: from here on it is not a
# snapshot, however much of it is left. `sweep` deletes it.
retire_count=0
retire() {
	retire_count=$((retire_count + 1))
	base=${1##*/}
	mv -- "$1" "${1%/*}/.deleting-$$-$retire_count-${base#.}"
}

# Deletes what was retired, by this call or by a killed run. A leftover that cannot
# be deleted is a warning: it is hidden and is tried again next time.
sweep() {
	for old in "$1"/.deleting-*; do
		! is_kind "$old" - || continue
		rm -rf -- "$old" || echo "warning: cannot delete $old (left by a run that was stopped)" >&2
	done
}

# Lists DIR as the header says; with "space", its free space too.
listing() {
	at=$1
	if [ -d "$1" ]; then
		for entry in "$1"/* "$1"/.[!.]* "$1"/..?*; do
			kind_of "$entry"
			[ "$kind" != - ] || continue
			printf '%s %s\000' "$kind" "${entry##*/}"
		done
	elif [ -d "${1%/*}" ]; then
		at=${1%/*} # no snapshot yet
	else
		# Not even the disk's directory: an unmounted disk has no snapshots to count.
		unavailable "${1%/*} does not exist: is the disk mounted?"
	fi
	printf 'u %s\000' "$(id -u)"
	[ "$2" = space ] || return 0
	# df -P prints a header line, then one line per file system: its 2nd field is the
	# total, its 4th what is free (KiB with -k, inodes with -i).
	kib=$(df -P -k "$at" 2>/dev/null | { read -r _ && read -r _ total _ free _ && echo "$free $total"; }) || kib=
	inodes=$(df -P -i "$at" 2>/dev/null | { read -r _ && read -r _ total _ free _ && echo "$free $total"; }) || inodes=
	# shellcheck disable=SC2086 # each holds two figures, split on purpose
	printf 's %s %s %s %s\000' ${kib:-- -} ${inodes:-- -}
}

list() {
	[ $# -eq 1 ] || die "usage: snapshots.sh list DIR"
	require_task_dir "$1"
	listing "$1" space
}

prepare() {
	[ $# -ge 2 ] || die "usage: snapshots.sh prepare DIR fresh|resume [NAME...]"
	dir=$1 mode=$2
	shift 2
	require_task_dir "$dir"
	case $mode in fresh | resume) ;; *) die "refusing mode '$mode': expected fresh or resume" ;; esac
	kind_of "$dir"
	case $kind in
	d) ;;
	-)
		# Without -p: a disk that is not mounted must fail here, not be created.
		[ -d "${dir%/*}" ] || unavailable "${dir%/*} does not exist: is the disk mounted?"
		mkdir -- "$dir"
		;;
	*) foreign "$dir" ;;
	esac

	# The snapshots a swap parked, as backup-server read them from the listing: only
	# a real directory named .replaced-YYYY-MM-DD for a real date. Look-alikes are
	# foreign, left alone (a swap one would block says so).
	for name in "$@"; do
		is_date "$name" || die "refusing '$name': not a YYYY-MM-DD snapshot name"
		old=$dir/.replaced-$name
		is_kind "$old" d || continue
		if is_kind "$dir/$name" -; then
			# Killed between the two renames of a same-day replacement: the day
			# gets its old, complete snapshot back.
			note "restoring $dir/$name: a run was stopped while replacing it"
			mv -- "$old" "$dir/$name"
		else
			note "removing $old: the snapshot that replaced it is complete"
			retire "$old"
		fi
	done

	kind_of "$dir/.in-progress"
	case $kind in
	-) ;;
	d)
		if [ "$mode" = resume ]; then
			note "resuming the unfinished $dir/.in-progress of an earlier run"
		else
			note "removing the unfinished $dir/.in-progress of an earlier run"
			retire "$dir/.in-progress"
		fi
		;;
	*) foreign "$dir/.in-progress" ;;
	esac
	sweep "$dir"
	listing "$dir" no-space
}

commit() {
	[ $# -eq 3 ] || die "usage: snapshots.sh commit DIR NAME new|replace"
	dir=$1 name=$2 how=$3
	require_task_dir "$dir"
	is_date "$name" || die "refusing '$name': not a YYYY-MM-DD snapshot name"
	is_kind "$dir/.in-progress" d || die "refusing: $dir/.in-progress is $(describe "$dir/.in-progress")"
	kind_of "$dir/$name"
	case $how/$kind in
	new/-)
		mv -- "$dir/.in-progress" "$dir/$name"
		note "completed snapshot $dir/$name"
		;;
	replace/d)
		is_kind "$dir/.replaced-$name" - || foreign "$dir/.replaced-$name"
		mv -- "$dir/$name" "$dir/.replaced-$name"
		mv -- "$dir/.in-progress" "$dir/$name"
		note "completed snapshot $dir/$name, replacing the earlier one of the same day"
		retire "$dir/.replaced-$name"
		sweep "$dir"
		;;
	new/d) die "refusing: $dir/$name exists already" ;;
	replace/-) die "refusing: $dir/$name, to be replaced, is gone" ;;
	*) die "$dir/$name is not a snapshot directory: it is $(describe "$dir/$name"); backup-server never touches what it did not make: move it away" ;;
	esac
	listing "$dir" space
}

prune() {
	[ $# -ge 2 ] || die "usage: snapshots.sh prune DIR NAME..."
	dir=$1
	shift
	require_task_dir "$dir"
	# Every name is checked before anything is renamed: a bad argument changes nothing.
	for name in "$@"; do
		is_date "$name" || die "refusing '$name': not a YYYY-MM-DD snapshot name"
		is_kind "$dir/$name" d || die "refusing $dir/$name: not a snapshot directory"
	done
	for name in "$@"; do
		note "deleting $dir/$name"
		retire "$dir/$name"
	done
	sweep "$dir"
	listing "$dir" space
}

# Prints the kind (as `listing` writes it, or - for nothing) of DIR/NAME/PART1,
# DIR/NAME/PART1/PART2, ..., each followed by a NUL, never following a symlink: it
# stops after the first that is not a directory, so a path through a symlink inside
# a snapshot can never lead a restore out of it.
lookup() {
	[ $# -ge 2 ] || die "usage: snapshots.sh lookup DIR NAME [PART...]"
	dir=$1 name=$2
	shift 2
	require_task_dir "$dir"
	is_date "$name" || die "refusing '$name': not a YYYY-MM-DD snapshot name"
	is_kind "$dir/$name" d || die "refusing $dir/$name: not a snapshot directory"
	for part in "$@"; do
		case $part in
		'' | . | .. | */*) die "refusing '$part': not a single name" ;;
		esac
	done
	at=$dir/$name
	for part in "$@"; do
		at=$at/$part
		kind_of "$at"
		printf '%s\000' "$kind"
		[ "$kind" = d ] || break
	done
}

# Prints where DIR really is, followed by a NUL: the physical path of its nearest
# existing ancestor (cd -P), then the names below it that do not exist yet. Two
# spellings of one directory (a symlink to it) print the same path.
identify() {
	[ $# -eq 1 ] || die "usage: snapshots.sh identify DIR"
	dir=$1
	require_task_dir "$dir"
	at=$dir rest=
	while [ ! -d "$at" ]; do
		rest=/${at##*/}$rest
		at=${at%/*}
		[ -n "$at" ] || at=/
	done
	real=$(cd -P -- "$at" && pwd -P) || die "cannot enter $at"
	[ "$real" != / ] || real=
	printf '%s%s\000' "$real" "$rest"
}

[ $# -ge 1 ] || die "usage: snapshots.sh list|prepare|commit|prune|lookup|identify DIR ..."
command=$1
shift
case $command in
list) list "$@" ;;
prepare) prepare "$@" ;;
commit) commit "$@" ;;
prune) prune "$@" ;;
lookup) lookup "$@" ;;
identify) identify "$@" ;;
*) die "usage: snapshots.sh list|prepare|commit|prune|lookup|identify DIR ..." ;;
esac
