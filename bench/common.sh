# shellcheck shell=bash
# What every benchmark shares, sourced by bench/*.sh from the checkout's root: the packages
# it needs, the binary it measures, a scratch directory removed on exit, a source tree,
# timing, and the figures it hands to bench/compare.sh.
#
# Environment (all optional; bench/compare.sh sets them):
#   BACKUP_SERVER   the binary to measure; unset, this checkout's release build
#   BENCH_SEED      makes every random byte (files, churn) a function of it, so two binaries
#                   measured apart still get the same data
#   BENCH_RESULTS   a file each benchmark appends its own figures to, "label<TAB>seconds"

# shellcheck source=tools/debian-packages.sh
source tools/debian-packages.sh

# bench_setup NAME PACKAGE...: installs the packages, sets $bin and $work (/tmp/NAME.XXXXXX,
# removed on exit unless the script sets a trap of its own).
# shellcheck disable=SC2034 # $bin is for the scripts that source this
bench_setup() {
	local name=$1
	shift
	install_debian_packages bc openssl "$@"
	if [[ -n ${BACKUP_SERVER:-} ]]; then
		bin=$(realpath "$BACKUP_SERVER")
	else
		cargo build --release --quiet
		bin=$(realpath -m "${CARGO_TARGET_DIR:-target}")/release/backup-server
	fi
	work=$(mktemp -d "/tmp/$name.XXXXXX")
	trap 'rm -rf "$work"' EXIT
}

# random_bytes N LABEL: N random bytes; with BENCH_SEED set, the same N bytes for the same
# seed and label (AES-CTR of zeros under a key made from both).
random_bytes() {
	if [[ -z ${BENCH_SEED:-} ]]; then
		head -c "$1" /dev/urandom
		return
	fi
	local key
	key=$(printf '%s/%s' "$BENCH_SEED" "$2" | sha256sum | cut -c1-32)
	# Zeros in, so exactly N bytes out: nothing is cut off mid-pipe (no SIGPIPE under pipefail).
	head -c "$1" /dev/zero | openssl enc -aes-128-ctr -K "$key" -iv 00000000000000000000000000000000
}

# make_tree DIR FILES: FILES files of 1 kB in directories of 1000 (d0, d1, …), as the engine
# and verify benchmarks use; prints what it made.
make_tree() {
	local dir=$1 files=$2 d
	for ((d = 0; d * 1000 < files; d++)); do
		mkdir "$dir/d$d"
		random_bytes "$((1000 * 1000))" "tree/d$d" | (cd "$dir/d$d" && split -b 1000 -d -a 4 - f)
	done
	echo "source: $(find "$dir" -type f | wc -l) files, $(du -sh "$dir" | cut -f1)"
}

seconds() { # runs "$@", prints its wall time in seconds
	local start end
	start=$(date +%s.%N)
	"$@"
	end=$(date +%s.%N)
	echo "$end - $start" | bc -l
}

median() { # the median of the numbers on stdin, one a line
	sort -n | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'
}

# result LABEL SECONDS: one of our binary's figures, for bench/compare.sh (when it asks).
result() {
	[[ -z ${BENCH_RESULTS:-} ]] || printf '%s\t%s\n' "$1" "$2" >>"$BENCH_RESULTS"
}
