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
#   snapshots.sh branch  DIR [NAME]           make DIR/.in-progress a writable btrfs snapshot
#                                             of DIR/NAME, or an empty subvolume (btrfs only)
#   snapshots.sh unshare DIR                  give each entry of the writable btrfs snapshot
#                                             DIR/.in-progress that has more than one link
#                                             an inode of its own (a reflink copy)
#   snapshots.sh farm    DIR NAME             make DIR/.in-progress a hard-link copy of
#                                             DIR/NAME (cp -al: a link farm), to be brought
#                                             up to date from a change list (replay.sh)
#   snapshots.sh commit  DIR NAME new|replace [move|btrfs|received]
#                                             make DIR/.in-progress the snapshot DIR/NAME: by
#                                             a rename (move), made read-only and renamed
#                                             (btrfs); received: rename DIR/.sync-NAME, a
#                                             subvolume `btrfs receive` completed
#   snapshots.sh prune   DIR NAME...          remove the snapshots DIR/NAME...
#   snapshots.sh freeze  DIR NAME             a read-only btrfs snapshot DIR/.sync-NAME of
#                                             DIR/NAME, to send (its name is what a target
#                                             receives it as)
#   snapshots.sh release DIR NAME...          remove DIR/.sync-NAME... (a parent no target
#                                             needs, or a receive that did not finish)
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
# On btrfs a snapshot may be a read-only subvolume: made by `btrfs subvolume snapshot
# -r` (one atomic call, so it too appears complete or not at all), renamed within its
# directory like any other, and deleted by `btrfs subvolume delete` once retired.
#
# Every call but lookup and identify ends by listing DIR on stdout, as it is then: each entry "TYPE NAME"
# followed by a NUL (TYPE: d directory, l symlink, f file, o other), so no file name
# can break the listing; "u UID": the user it runs as (a target's user that is not
# root cannot set owners); "F FSTYPE BTRFS": DIR's file system type and, on btrfs,
# whether snapshots can be subvolumes here (usable, no-command, no-capability; "-"
# elsewhere); on btrfs, "v NAME" for each entry that is a subvolume; and, but after `prepare`, "s KIB TOTAL_KIB INODES TOTAL_INODES":
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

# Whether $1 is a real directory that is the root of a btrfs subvolume: its inode
# is 256. ($fstype is set by file_system first.)
is_subvolume() {
	[ "$fstype" = btrfs ] && is_kind "$1" d || return 1
	# Only the number is read: no file name can break it.
	# shellcheck disable=SC2012
	inode=$(ls -di -- "$1" | { read -r number _ && echo "$number"; })
	[ "$inode" = 256 ]
}

# Sets $fstype to the type of the file system at $1 ("-" where stat cannot tell),
# and $btrfs to whether btrfs snapshots can be made there.
file_system() {
	fstype=$(stat -f -c %T -- "$1" 2>/dev/null) || fstype=-
	btrfs=-
	[ "$fstype" = btrfs ] || return 0
	if ! command -v btrfs >/dev/null 2>&1; then
		btrfs=no-command
		return 0
	fi
	# CAP_SYS_ADMIN (bit 21 of the effective set) is what btrfs send, receive and
	# subvolume delete need.
	caps=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status 2>/dev/null) || caps=
	if [ -n "$caps" ] && [ $((0x$caps & 0x200000)) -ne 0 ]; then
		btrfs=usable
	else
		btrfs=no-capability
	fi
}
fstype=-

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
		if is_subvolume "$old"; then
			btrfs subvolume delete -- "$old" >/dev/null ||
				echo "warning: cannot delete the subvolume $old (left by a run that was stopped)" >&2
		else
			rm -rf -- "$old" || echo "warning: cannot delete $old (left by a run that was stopped)" >&2
		fi
	done
}

# Lists DIR as the header says; with "space", its free space too.
listing() {
	at=$1
	if [ -d "$1" ]; then
		file_system "$1"
		for entry in "$1"/* "$1"/.[!.]* "$1"/..?*; do
			kind_of "$entry"
			[ "$kind" != - ] || continue
			printf '%s %s\000' "$kind" "${entry##*/}"
			[ "$kind" != d ] || ! is_subvolume "$entry" || printf 'v %s\000' "${entry##*/}"
		done
	elif [ -d "${1%/*}" ]; then
		at=${1%/*} # no snapshot yet
		file_system "$at"
	else
		# Not even the disk's directory: an unmounted disk has no snapshots to count.
		unavailable "${1%/*} does not exist: is the disk mounted?"
	fi
	printf 'u %s\000' "$(id -u)"
	printf 'F %s %s\000' "$fstype" "$btrfs"
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
	file_system "$dir"

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
	[ $# -eq 3 ] || [ $# -eq 4 ] || die "usage: snapshots.sh commit DIR NAME new|replace [move|btrfs|received]"
	dir=$1 name=$2 how=$3 from=${4:-move}
	require_task_dir "$dir"
	is_date "$name" || die "refusing '$name': not a YYYY-MM-DD snapshot name"
	file_system "$dir"
	case $from in
	move | btrfs) made=$dir/.in-progress ;;
	received) made=$dir/.sync-$name ;;
	*) die "refusing '$from': expected move, btrfs or received" ;;
	esac
	is_kind "$made" d || die "refusing: $made is $(describe "$made")"
	if [ "$from" != move ]; then
		is_subvolume "$made" || die "refusing: $made is not a btrfs subvolume"
	fi
	if [ "$from" = received ]; then
		# `btrfs receive` makes its subvolume read-only only once the stream is whole.
		[ "$(btrfs property get -ts "$made" ro)" = ro=true ] ||
			die "refusing: $made is not read-only: its receive did not finish"
	fi
	kind_of "$dir/$name"
	case $how/$kind in
	new/- | replace/d) ;;
	new/d) die "refusing: $dir/$name exists already" ;;
	replace/-) die "refusing: $dir/$name, to be replaced, is gone" ;;
	*) die "$dir/$name is not a snapshot directory: it is $(describe "$dir/$name"); backup-server never touches what it did not make: move it away" ;;
	esac
	if [ "$how" = replace ]; then
		is_kind "$dir/.replaced-$name" - || foreign "$dir/.replaced-$name"
		mv -- "$dir/$name" "$dir/.replaced-$name"
	fi
	if [ "$from" = btrfs ]; then
		# On disk first: a power cut must not leave the date on a file whose new size
		# and time were committed before its data. Then read-only, then the one rename:
		# the dated name appears as a whole, read-only snapshot or not at all.
		sync -f -- "$made"
		btrfs property set -ts "$made" ro true
		mv -- "$made" "$dir/$name"
	else
		mv -- "$made" "$dir/$name"
	fi
	if [ "$how" = replace ]; then
		note "completed snapshot $dir/$name, replacing the earlier one of the same day"
		retire "$dir/.replaced-$name"
	else
		note "completed snapshot $dir/$name"
	fi
	sweep "$dir"
	listing "$dir" space
}

# Makes DIR/.in-progress a writable snapshot of DIR/NAME (copy-on-write: what is
# written into it never reaches NAME), or an empty subvolume without NAME; an
# .in-progress subvolume an earlier run left (prepare resumed it) is kept.
branch() {
	[ $# -eq 1 ] || [ $# -eq 2 ] || die "usage: snapshots.sh branch DIR [NAME]"
	dir=$1
	require_task_dir "$dir"
	is_kind "$dir" d || die "refusing: $dir is not a prepared task directory"
	file_system "$dir"
	[ "$btrfs" = usable ] || die "refusing: $dir is not on a btrfs this user can snapshot ($fstype, $btrfs)"
	kind_of "$dir/.in-progress"
	case $kind in
	d)
		is_subvolume "$dir/.in-progress" || die "refusing: $dir/.in-progress is not a subvolume"
		# A run stopped between making it read-only and renaming it (commit).
		[ "$(btrfs property get -ts "$dir/.in-progress" ro)" = ro=false ] ||
			btrfs property set -ts "$dir/.in-progress" ro false
		note "resuming the subvolume $dir/.in-progress of an earlier run"
		;;
	-)
		if [ $# -eq 2 ]; then
			is_date "$2" || die "refusing '$2': not a YYYY-MM-DD snapshot name"
			is_subvolume "$dir/$2" || die "refusing $dir/$2: not a subvolume snapshot"
			btrfs subvolume snapshot -- "$dir/$2" "$dir/.in-progress" >/dev/null
			note "made $dir/.in-progress a writable snapshot of $dir/$2"
		else
			btrfs subvolume create -- "$dir/.in-progress" >/dev/null
			note "made $dir/.in-progress an empty subvolume"
		fi
		;;
	*) foreign "$dir/.in-progress" ;;
	esac
	listing "$dir" no-space
}

# Makes DIR/.in-progress a link farm of DIR/NAME: its directories new, every other
# entry a hard link to NAME's. Whatever changes must get an inode of its own before it
# is written (replay.sh removes it first): a change made through a shared inode would
# change NAME too. prepare has removed any .in-progress an earlier run left.
farm() {
	[ $# -eq 2 ] || die "usage: snapshots.sh farm DIR NAME"
	dir=$1 name=$2
	require_task_dir "$dir"
	is_date "$name" || die "refusing '$name': not a YYYY-MM-DD snapshot name"
	is_kind "$dir/$name" d || die "refusing $dir/$name: not a snapshot directory"
	is_kind "$dir/.in-progress" - || die "refusing: $dir/.in-progress exists already"
	file_system "$dir"
	# busybox's cp -al drops directories' xattrs and ACLs (and so, on a fake-super
	# target, their owners and modes): GNU's keeps them. Without it rsync sends the
	# snapshot as before.
	case $(cp --version 2>/dev/null) in
	*"GNU coreutils"*) ;;
	*) die "refusing: cp here is not GNU cp, the one whose cp -al keeps every directory's xattrs and ACLs" ;;
	esac
	cp -al -- "$dir/$name" "$dir/.in-progress"
	note "made $dir/.in-progress a hard-link copy of $dir/$name"
	listing "$dir" no-space
}

# Gives each entry of the writable btrfs snapshot DIR/.in-progress that has more than
# one link an inode of its own: a copy-on-write copy (cp --reflink, sharing the blocks)
# renamed over it. rsync --inplace writes through every link of an inode, so a file
# that is no longer linked in the source would change its old partners too; rsync
# links again what is still linked there.
unshare() {
	[ $# -eq 1 ] || die "usage: snapshots.sh unshare DIR"
	dir=$1
	require_task_dir "$dir"
	file_system "$dir"
	is_subvolume "$dir/.in-progress" || die "refusing: $dir/.in-progress is not a subvolume"
	# find follows no symlink, and -xdev keeps it inside the subvolume; the copy never
	# writes into an inode that is there (--remove-destination), and only a rename
	# replaces the entry. /bin/sh, this script's own shell: a service's PATH may hold
	# no sh (the backup disk is always local, so this never runs on a target).
	# shellcheck disable=SC2016 # expanded by the shell find runs
	find "$dir/.in-progress" -xdev ! -type d -links +1 -exec /bin/sh -c '
		shift
		for entry do
			# A name of its own beside the entry, that no entry of the source has.
			temporary=$(mktemp -- "${entry%/*}/.unshare.XXXXXX") &&
				cp --reflink=always -a --remove-destination -- "$entry" "$temporary" &&
				mv -f -- "$temporary" "$entry" || exit 1
		done' /bin/sh "$dir/.in-progress" {} +
	note "gave every entry of $dir/.in-progress with more than one link an inode of its own"
	listing "$dir" no-space
}

# Makes DIR/.sync-NAME, the read-only snapshot of DIR/NAME that `btrfs send` sends:
# a target receives it under that hidden name, and commits it by renaming it there.
freeze() {
	[ $# -eq 2 ] || die "usage: snapshots.sh freeze DIR NAME"
	dir=$1 name=$2
	require_task_dir "$dir"
	is_date "$name" || die "refusing '$name': not a YYYY-MM-DD snapshot name"
	file_system "$dir"
	is_subvolume "$dir/$name" || die "refusing $dir/$name: not a subvolume snapshot"
	is_kind "$dir/.sync-$name" - || die "refusing: $dir/.sync-$name exists already"
	btrfs subvolume snapshot -r -- "$dir/$name" "$dir/.sync-$name" >/dev/null
	note "made $dir/.sync-$name to send"
	listing "$dir" no-space
}

release() {
	[ $# -ge 2 ] || die "usage: snapshots.sh release DIR NAME..."
	dir=$1
	shift
	require_task_dir "$dir"
	file_system "$dir"
	for name in "$@"; do
		is_date "$name" || die "refusing '$name': not a YYYY-MM-DD snapshot name"
		is_kind "$dir/.sync-$name" d || die "refusing $dir/.sync-$name: not a directory"
	done
	for name in "$@"; do
		note "removing $dir/.sync-$name"
		retire "$dir/.sync-$name"
	done
	sweep "$dir"
	listing "$dir" no-space
}

prune() {
	[ $# -ge 2 ] || die "usage: snapshots.sh prune DIR NAME..."
	dir=$1
	shift
	require_task_dir "$dir"
	file_system "$dir"
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

usage="list|prepare|branch|unshare|farm|commit|prune|freeze|release|lookup|identify"
[ $# -ge 1 ] || die "usage: snapshots.sh $usage DIR ..."
command=$1
shift
case $command in
list) list "$@" ;;
prepare) prepare "$@" ;;
commit) commit "$@" ;;
prune) prune "$@" ;;
branch) branch "$@" ;;
unshare) unshare "$@" ;;
farm) farm "$@" ;;
freeze) freeze "$@" ;;
release) release "$@" ;;
lookup) lookup "$@" ;;
identify) identify "$@" ;;
*) die "usage: snapshots.sh $usage DIR ..." ;;
esac
