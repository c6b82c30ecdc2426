# shellcheck shell=bash disable=SC2154 # $work, $bin, $files, $log, $rtb, $tools: set by the caller
# The pieces of bench/nights.sh: disks, the tree and its churn, each tool's night, the
# measurement and the table. Sourced after bench/common.sh; uses its $bin and $work, and
# nights.sh's $log, $rtb and $tools.

cleanup() {
	local m
	for m in "$work"/mnt/*; do
		! mountpoint -q "$m" || umount "$m" || umount -l "$m"
	done
	# A night killed part-way may leave processes in its cgroup: say so, and remove the rest.
	[[ -z ${cgroup:-} || ! -d $cgroup ]] || rmdir "$cgroup" || echo "left $cgroup" >&2
	# Never into a mount that would not go: its disk image is what we remove.
	rm -rf --one-file-system "$work"
}

# cgroup_setup: $cgroups, where each night gets a memory cgroup of its own, and $peak_file,
# its peak. There is no systemd here to ask for a scope (PID 1 may be anything), so they are
# made by hand: under our own memory cgroup with v1 (memory.max_usage_in_bytes), under the
# root with v2 (memory.peak; a v2 cgroup holding processes may not have children with
# controllers, and the root may). Both count the page cache the night dirtied.
cgroup_setup() {
	if grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
		cgroups=/sys/fs/cgroup peak_file=memory.peak
		grep -qw memory /sys/fs/cgroup/cgroup.subtree_control || echo +memory >/sys/fs/cgroup/cgroup.subtree_control
	elif [[ -d /sys/fs/cgroup/memory ]]; then
		cgroups=/sys/fs/cgroup/memory$(sed -n 's/^[0-9]*:memory://p' /proc/self/cgroup)
		peak_file=memory.max_usage_in_bytes
	else
		echo "no memory cgroup (v1 or v2) to measure in" >&2
		exit 1
	fi
	cgroup=$cgroups/backup-nights-$$
}

# disks FS: two fresh loop-mounted FS images, $a (source and backup disk) and $b (target).
disks() {
	local side size=$((files * 64))K # sparse; a 50k tree and four tools' copies use ~1.5 GB
	mkdir -p "$work/mnt" "$work/empty"
	for side in a b; do
		rm -f "$work/$side.img"
		truncate -s "$size" "$work/$side.img"
		case $1 in
		ext4) mkfs.ext4 -q -F -i 4096 "$work/$side.img" ;; # four snapshots' directories need inodes
		btrfs) mkfs.btrfs -q -f "$work/$side.img" >/dev/null ;; # -q still prints a NOTE
		*) echo "unknown file system $1" >&2 && exit 1 ;;
		esac
		mkdir -p "$work/mnt/$side"
		mount -o loop "$work/$side.img" "$work/mnt/$side"
	done
	a=$work/mnt/a b=$work/mnt/b
}

undisks() {
	umount "$a" "$b"
	rm -f "$work/a.img" "$work/b.img"
	rm -rf "${work:?}/state" "${work:?}/restic-cache" "${work:?}/rtb-log"
}

# file_size: perl reading 4 random bytes as a size of 16 B to 30 kB, log-uniform (mean 4 kB,
# so 50,000 files are ~200 MB, as the issue's tree), many small files and a few large ones.
# shellcheck disable=SC2016 # perl's own variables
file_size='sub size { my ($fh) = @_; read($fh, my $u, 4) == 4 or die "short stream"; int(16 * (30000 / 16) ** (unpack("N", $u) / 4294967296)) }'

# make_source DIR FILES: FILES files of realistic sizes, 100 to a directory, 100 directories
# to a top one; every byte follows BENCH_SEED.
make_source() {
	local total
	mkdir "$1"
	random_bytes "$((4 * $2))" tree/sizes >"$work/sizes"
	total=$(perl -e "$file_size"' open my $s, "<", $ARGV[0] or die; my $t = 0; $t += size($s) for 1 .. $ARGV[1]; print $t' "$work/sizes" "$2")
	perl -e "$file_size"'
		use File::Path qw(make_path);
		my ($dir, $n, $sizes, $data) = @ARGV;
		open my $s, "<", $sizes or die; open my $d, "<", $data or die;
		for my $i (0 .. $n - 1) {
			my $sub = sprintf "%s/t%d/d%d", $dir, $i / 10000, $i / 100;
			make_path($sub) unless $i % 100;
			read($d, my $buf, size($s));
			open my $f, ">", "$sub/f$i" or die "$sub/f$i: $!"; print $f $buf; close $f or die;
		}' "$1" "$2" "$work/sizes" <(random_bytes "$total" tree/data)
	echo "# source: $(find "$1" -type f | wc -l) files, $total bytes, du $(du -sh "$1" | cut -f1)" | tee -a "$log" >&2
}

# churn DIR NIGHT: one night of use, the same for every tool: new contents for 0.5% of the
# files, a chmod or a touch for another 0.5%, 0.1% deleted and 0.1% added; which ones and
# their bytes follow BENCH_SEED. Prints what it changed.
churn() {
	local n
	n=$(find "$1" -type f | wc -l)
	random_bytes "$((8 * n + 4096))" "pick/$2" >"$work/pick"
	random_bytes "$((30000 * (n / 200 + n / 1000 + 2)))" "churn/$2" >"$work/churn"
	perl -e "$file_size"'
		use File::Find;
		my ($dir, $night, $pick, $data) = @ARGV;
		open my $p, "<", $pick or die; open my $d, "<", $data or die;
		my @f; find({ wanted => sub { push @f, $File::Find::name if -f }, no_chdir => 1 }, $dir);
		@f = sort @f;
		my ($rw, $meta, $del, $add) = (int(@f / 200) || 1, int(@f / 200) || 1, int(@f / 1000) || 1, int(@f / 1000) || 1);
		for my $i (0 .. $rw + $meta + $del - 1) { # a partial Fisher-Yates shuffle
			read($p, my $u, 4); my $j = $i + unpack("N", $u) % (@f - $i); @f[$i, $j] = @f[$j, $i];
		}
		my $bytes = 0;
		my $write = sub { read($d, my $buf, size($p)); open my $f, ">", $_[0] or die "$_[0]: $!"; print $f $buf; close $f or die; $bytes += length $buf };
		$write->($f[$_]) for 0 .. $rw - 1;
		for my $i ($rw .. $rw + $meta - 1) {
			if ($i % 2) { utime undef, undef, $f[$i] or die } else { chmod((stat $f[$i])[2] & 07777 ^ 020, $f[$i]) or die }
		}
		unlink $f[$_] or die for $rw + $meta .. $rw + $meta + $del - 1;
		for my $k (0 .. $add - 1) { (my $new = $f[$k]) =~ s{/[^/]+$}{/n$night-$k}; $write->($new) }
		print "rewrote $rw, chmod/touch $meta, deleted $del, added $add files; $bytes bytes written";
	' "$1" "$2" "$work/pick" "$work/churn"
}

# tools_init: each tool's empty store on both disks, as its user would set it up.
tools_init() {
	mkdir -p "$a/ours" "$b/ours" "$work/state" "$a/rtb" "$b/rtb" "$work/rtb-log" "$b/rsnapshot"
	cat >"$work/config.yml" <<-YAML
		dir_backup_local: $a/ours
		dir_backup_remote: $b/ours
		email_sender: bench@example.com
		email_report: bench@example.com
		retention: {daily: 100}
		tasks: [{name: data, dir_source: $a/src}]
	YAML
	touch "$a/rtb/backup.marker" # rsync-time-backup writes only where this marker is
	# rsnapshot's fields are separated by tabs; the rest are its defaults (cp -al rotation).
	printf '%s\t%s\n' config_version 1.2 snapshot_root "$a/rsnapshot/" cmd_cp /bin/cp \
		cmd_rm /bin/rm cmd_rsync /usr/bin/rsync lockfile "$work/rsnapshot.pid" >"$work/rsnapshot.conf"
	printf 'retain\tdaily\t100\nbackup\t%s/\tlocalhost/\n' "$a/src" >>"$work/rsnapshot.conf"
	echo bench-password >"$work/restic-password"
	export RESTIC_PASSWORD_FILE=$work/restic-password RESTIC_CACHE_DIR=$work/restic-cache
	restic -q -r "$a/restic" init >/dev/null
	# Same chunker on both, so `restic copy` moves only the new blobs.
	restic -q -r "$b/restic" init --from-repo "$a/restic" --from-password-file "$RESTIC_PASSWORD_FILE" \
		--copy-chunker-params >/dev/null
}

# run COMMAND...: one process of a night, its peak RSS (of it or of its largest descendant,
# which is what wait4 reports) appended to $work/rss, its output to $work/tool.log.
run() {
	/usr/bin/time -a -o "$work/rss" -f %M "$@" >>"$work/tool.log" 2>&1 || {
		tail -n 20 "$work/tool.log" >&2
		return 1
	}
}

night_backup-server() {
	run "$bin" --config "$work/config.yml" --state-dir "$work/state" --no-email \
		--today "$(date -d "2026-01-01 + $1 days" +%F)" run
}
night_rsync-time-backup() {
	run "$rtb" --log-dir "$work/rtb-log" "$a/src/" "$a/rtb"
	run rsync -aH --delete "$a/rtb/" "$b/rtb/"
}
night_rsnapshot() {
	run rsnapshot -c "$work/rsnapshot.conf" daily
	run rsync -aH --delete "$a/rsnapshot/" "$b/rsnapshot/"
}
night_restic() {
	run restic -q -r "$a/restic" backup --host bench "$a/src"
	run restic -q -r "$b/restic" copy --from-repo "$a/restic" --from-password-file "$RESTIC_PASSWORD_FILE"
}

# measure FS TOOL KIND NIGHT: one night of TOOL, timed, in $cgroup; a line of the log.
measure() {
	local t
	: >"$work/rss"
	mkdir "$cgroup" # a fresh one each night: v2's memory.peak cannot be reset on every kernel
	t=$(seconds in_cgroup "night_$2" "$4")
	printf '%s\t%s\t%s\t%d\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$t" "$(sort -n "$work/rss" | tail -n 1)" \
		"$(($(cat "$cgroup/$peak_file") / 1024))" >>"$log"
	rmdir "$cgroup"
}
in_cgroup() { (echo "$BASHPID" >"$cgroup/cgroup.procs" && "$@"); }

# figures FS TOOL KIND COLUMN: that column of the log's lines, one a line.
figures() { awk -F'\t' -v fs="$1" -v t="$2" -v k="$3" -v c="$4" '$1 == fs && $2 == t && $3 == k { print $c }' "$log"; }

# report FS FILES: the table of one file system, in Markdown, on stdout and into the log.
report() {
	local kind tool m restic ours
	{
		printf '\n%s, %s files, %s, load %s\n\n' "$1" "$2" "$(date -u '+%F %H:%M UTC')" "$(cut -d' ' -f1-3 /proc/loadavg)"
		echo '| tool | night | median s | × restic | × backup-server | peak RSS MB | cgroup peak MB |'
		echo '| --- | --- | --- | --- | --- | --- | --- |'
		for kind in 1% 0% full; do
			restic=$(figures "$1" restic "$kind" 5 | median)
			ours=$(figures "$1" backup-server "$kind" 5 | median)
			for tool in "${tools[@]}"; do
				m=$(figures "$1" "$tool" "$kind" 5 | median)
				printf '| %s | %s | %.2f | %.2f | %.2f | %.0f | %.0f |\n' "$tool" "$kind" "$m" \
					"$(echo "$m / $restic" | bc -l)" "$(echo "$m / $ours" | bc -l)" \
					"$(echo "$(figures "$1" "$tool" "$kind" 6 | sort -n | tail -n 1) / 1024" | bc -l)" \
					"$(echo "$(figures "$1" "$tool" "$kind" 7 | sort -n | tail -n 1) / 1024" | bc -l)"
			done
		done
		printf '\nfloor, one bare walk of the source (rsync -an --delete SRC/ EMPTY/): median %.2f s\n' \
			"$(for kind in full 1% 0%; do figures "$1" floor "$kind" 5; done | median)"
	} | tee -a "$log"
}
