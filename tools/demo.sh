#!/usr/bin/env bash
# The README's first command: builds backup-server and runs its demo on sample data.
# Installs rsync first if it is missing (the only thing a run needs besides bash).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tools/debian-packages.sh
source tools/debian-packages.sh
install_debian_packages rsync
# A first build compiles every crate: say so, rather than leave a silent terminal.
target=$(realpath -m "${CARGO_TARGET_DIR:-target}")
if [[ ! -x $target/release/backup-server ]]; then
	echo "demo: building backup-server (the first build takes a few minutes)" >&2
fi
cargo build --release --quiet
exec "$target/release/backup-server" demo "$@"
