#!/usr/bin/env bash
# Benchmark of the history site: a log DB of 20 tasks x 10 years of
# nightly runs (3 steps each: 219,000 rows) rendered by `backup-server render-site`,
# side by side with sqlite3 dumping the same table. Wall time and peak memory
# (GNU time's maximum resident set size), best and median of RUNS runs.
# Usage: bench/site.sh [RUNS]   (default 5)
# Environment: see bench/common.sh (BACKUP_SERVER, BENCH_RESULTS; the data is fixed).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
source bench/common.sh

runs=${1:-5}
bench_setup backup-site-bench sqlite3 time
mkdir -p "$work/state"

# A log DB as the first release wrote it (the seed's table only, schema version 0):
# the first render migrates it in place, timed on its own below.
sqlite3 "$work/state/log.db" <<'SQL'
CREATE TABLE task_run (id_task TEXT, dt_task_start REAL, dt_task_end REAL, success_task INTEGER,
  id_step TEXT, dt_step_start REAL, dt_step_end REAL, success_step INTEGER, dir_from TEXT,
  dir_to TEXT, time_elapsed TEXT);
CREATE INDEX task_run_by_task ON task_run (id_task, dt_task_start);
WITH RECURSIVE
  task(t) AS (SELECT 0 UNION ALL SELECT t + 1 FROM task WHERE t < 19),
  day(d) AS (SELECT 0 UNION ALL SELECT d + 1 FROM day WHERE d < 3649),
  step(s, name) AS (VALUES (0, 'backup'), (1, 'retention'), (2, 'sync'))
INSERT INTO task_run
SELECT 'task' || t,
       strftime('%s', 'now') - (3650 - d) * 86400,
       strftime('%s', 'now') - (3650 - d) * 86400 + 600 + (d * 7 + t) % 300,
       ((d * 13 + t) % 97) != 0,
       name,
       strftime('%s', 'now') - (3650 - d) * 86400 + s * 200,
       strftime('%s', 'now') - (3650 - d) * 86400 + s * 200 + 190,
       ((d * 13 + t) % 97) != 0 OR s < 2,
       '/srv/data/task' || t,
       '/mnt/backup/task' || t || '/' || date('now', '-' || (3650 - d) || ' days'),
       '00:03:10'
FROM task, day, step;
SQL
rows=$(sqlite3 "$work/state/log.db" 'SELECT COUNT(*) FROM task_run')
{
	printf 'dir_backup_local: /mnt/backup\ndir_backup_remote: /srv/mirror\n'
	printf 'email_sender: a@example.com\nemail_report: a@example.com\ntasks:\n'
	for ((t = 0; t < 20; t++)); do printf '  - {name: task%d, dir_source: /srv/data/task%d}\n' "$t" "$t"; done
} >"$work/config.yml"
echo "log DB: $rows rows, $(du -h "$work/state/log.db" | cut -f1)"

# measure NAME COMMAND...: RUNS runs; prints best and median seconds and peak RSS in MB,
# and leaves the median in $median.
measure() {
	local name=$1
	shift
	local times=() rss=()
	for ((i = 0; i < runs; i++)); do
		/usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/stderr"
		read -r t m <"$work/time"
		times+=("$t")
		rss+=("$m")
	done
	median=$(printf '%s\n' "${times[@]}" | median)
	printf '%-34s best %6.2f s  median %6.2f s  peak memory %6.1f MB\n' "$name" \
		"$(printf '%s\n' "${times[@]}" | sort -n | head -1)" "$median" \
		"$(echo "$(printf '%s\n' "${rss[@]}" | sort -n | tail -1) / 1024" | bc -l)"
}

/usr/bin/time -f '%e %M' -o "$work/time" "$bin" --config "$work/config.yml" --state-dir "$work/state" \
	--site-dir "$work/site" render-site 2>"$work/stderr"
read -r t m <"$work/time"
printf '%-34s %6.2f s  peak memory %6.1f MB\n' "first render, migrating the DB" "$t" "$(echo "$m / 1024" | bc -l)"
result "site: first render, migrating the DB" "$t"
echo "log DB after migration: $(sqlite3 "$work/state/log.db" 'SELECT COUNT(*) FROM steps') steps, $(du -h "$work/state/log.db" | cut -f1)"

measure "backup-server render-site" "$bin" --config "$work/config.yml" --state-dir "$work/state" \
	--site-dir "$work/site" render-site
result "site: render-site (median)" "$median"
measure "sqlite3 SELECT * FROM task_run" sqlite3 "$work/state/log.db" 'SELECT * FROM task_run'
measure "sqlite3 SELECT * FROM steps" sqlite3 "$work/state/log.db" 'SELECT * FROM steps'
echo "site: $(find "$work/site" -type f | wc -l) files, $(du -sh "$work/site" | cut -f1)"
