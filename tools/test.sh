#!/usr/bin/env bash
# The project's test command (README): installs what the tests need on Debian,
# then runs every check CI runs. The tests start sshd and switch users, so run
# it as root (CI does; on a workstation, in a VM or container).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=tools/debian-packages.sh
source tools/debian-packages.sh
install_debian_packages rsync openssh-server openssh-client sqlite3 shellcheck util-linux dash busybox acl attr btrfs-progs \
	python3 python3-aiosmtpd openssl nginx chromium prometheus python3-feedparser systemd \
	debootstrap systemd-container python3-pip python3-venv python3-jsonschema zsh fish groff-base
# Playwright for Python, from PyPI, in a venv of its own: the browser tests (tests/layout.rs)
# drive Debian's chromium with it. Made here so a missing PyPI fails before the build.
tools/playwright-venv.sh >/dev/null

cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
# Imports point down the data flow only (DESIGN.md): no module of src/ imports one that
# imports it back.
tools/module-cycles.py src
shellcheck -x -P SCRIPTDIR scripts/*.sh tools/*.sh bench/*.sh .ci/run \
	tests/nix/run tests/nix/evaluate tests/nix/in-trixie tests/nix/trixie-root tests/nix/scratch.sh \
	tests/twin/run tests/twin/prepare tests/twin/setup tests/twin/make-sources tests/twin/sops-binary
cargo test --locked
# The Nix half, in a Debian trixie root with Nix 2.26: nix flake check --no-build with the
# real nixpkgs lib and sops-nix and a strict stand-in for the rest of nixpkgs (tests/nix/run).
tests/nix/run
# The unit twin: backup-server.service and .timer as the module renders them, booted under
# Debian trixie's systemd 257 with systemd-nspawn, through the VM test's scenarios.
tests/twin/run
