#!/usr/bin/env bash
# Prints the path of a Python that has Playwright, creating it first when needed: a venv
# under /var/cache/backup-server-tests/ made with Debian's python3-venv, Playwright from PyPI.
# The browser tests (tests/layout.rs, through tests/support/layout.py) drive Debian's chromium
# with it; no browser is downloaded. Called by tools/test.sh and by the tests themselves, so a
# fresh machine needs nothing by hand. Fails loudly: the tests must never skip.
set -euo pipefail
cache=${BACKUP_SERVER_TEST_CACHE:-/var/cache/backup-server-tests}
venv=$cache/playwright-venv
version=1.65.2
mkdir -p "$cache"
exec 9>"$cache/.playwright.lock"
flock 9
if ! "$venv/bin/python" -c "import playwright, sys; sys.exit(0)" 2>/dev/null \
	|| [[ $(cat "$venv/.version" 2>/dev/null) != "$version" ]]; then
	rm -rf "$venv"
	/usr/bin/python3 -m venv "$venv" >&2
	"$venv/bin/pip" install -q --disable-pip-version-check "playwright==$version" >&2
	echo "$version" >"$venv/.version"
fi
echo "$venv/bin/python"
