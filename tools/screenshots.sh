#!/usr/bin/env bash
# Regenerates the README's two pictures (docs/screenshots/index-desktop.png and
# index-phone.png): the browser test renders its site with failing, stale and long-named
# tasks, measures it in Chromium, and copies the index's first screen at 1280 and 390 px.
set -euo pipefail
cd "$(dirname "$0")/.."
BACKUP_SERVER_SCREENSHOTS="$PWD/docs/screenshots" \
	cargo test --locked --test layout the_pages_and_the_mail_fit_a_phone_and_a_desktop
ls -l docs/screenshots/
