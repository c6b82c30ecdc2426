#!/usr/bin/env python3
"""The unit twin's scenarios, the NixOS VM test's (tests/nixos/default.nix) on one machine.

usage: scenario.py NSPAWN_PID WORK   (run by tests/twin/run)
The machine is the trixie container systemd-nspawn NSPAWN_PID booted; commands run in
it with nsenter. "remote" and "mail" are 127.0.0.1 there. The days move with the
hidden --today option: a container cannot set the clock, so a drop-in replaces
ExecStart= with the rendered one plus `--today DAY`; every other directive is the
module's. Prints what it checks and fails at the first thing that does not hold.
"""
import json
import re
import subprocess
import sys
import time
from contextlib import contextmanager

nspawn, work = sys.argv[1], sys.argv[2]
TASKS = {"home": "/home", "srv": "/srv", "var": "/var/local"}
# Exposure of the unit in `systemd-analyze security`, at most (README: the measured one).
EXPOSURE_AT_MOST = 3.0

# What a snapshot does not keep, by side: the attributes (manifest.py's names) that differ.
NOT_KEPT = json.load(open(f"{work}/src/tests/twin/not-kept.json"))


def leader():
    for _ in range(100):
        children = subprocess.run(["pgrep", "-P", nspawn], capture_output=True, text=True).stdout.split()
        if children:
            return children[0]
        time.sleep(0.1)
    sys.exit("twin: the container did not start")


PID = leader()


def execute(command, timeout=600):
    result = subprocess.run(
        ["nsenter", "-t", PID, "-a", "--", "/usr/bin/env", "-i", "PATH=/usr/sbin:/usr/bin", "LANG=C.UTF-8",
         "/bin/bash", "-euo", "pipefail", "-c", command],
        capture_output=True, text=True, timeout=timeout)
    return result.returncode, result.stdout + result.stderr


def succeed(command, timeout=600):
    status, output = execute(command, timeout)
    if status != 0:
        sys.exit(f"twin: FAILED (exit {status}): {command}\n{output}")
    return output


def fail(command):
    status, output = execute(command)
    if status == 0:
        sys.exit(f"twin: FAILED (succeeded, should have failed): {command}\n{output}")
    return output


def wait_until_succeeds(command, timeout=90):
    deadline = time.monotonic() + timeout
    while True:
        status, output = execute(command)
        if status == 0:
            return output
        if time.monotonic() > deadline:
            # What the run was doing when the wait gave up: its journal and processes.
            _, journal = execute("journalctl --no-pager -o cat -n 40 -u backup-server.service; "
                                 "ps -eo pid,etime,args | grep -v ' ps ' | tail -n 25")
            sys.exit(f"twin: FAILED (timed out): {command}\n{output}\n{journal}")
        time.sleep(0.5)


@contextmanager
def subtest(name):
    start = time.monotonic()
    yield
    print(f"twin: {name} ({time.monotonic() - start:.1f} s)", flush=True)


def run_on(day, succeeds=True, block=True, unit="backup-server.service"):
    """Starts UNIT (the nightly run, or the verify) as systemd would, on DAY (see the
    module docstring)."""
    EXEC_START = re.search(r"^ExecStart=(.*)$", succeed(f"cat /etc/systemd/system/{unit}"), re.M)
    succeed(f"mkdir -p /run/systemd/system/{unit}.d && cat > "
            f"/run/systemd/system/{unit}.d/today.conf <<'EOF'\n"
            f"[Service]\nExecStart=\nExecStart={EXEC_START.group(1)} --today {day}\nEOF\n"
            "systemctl daemon-reload")
    # Days follow each other within seconds here: clear systemd's start rate limit (5 in
    # 10 s), which nightly starts never reach.
    status, output = execute(f"systemctl reset-failed {unit}; systemctl start "
                             + ("" if block else "--no-block ") + unit)
    if (status == 0) != succeeds:
        journal = succeed(f"journalctl --no-pager -o cat -n 60 -u {unit}")
        sys.exit(f"twin: FAILED: {unit} on {day} exited {status}\n{output}\n{journal}")


def same_inode(a, b):
    succeed(f'[ "$(stat -c %i {a})" = "$(stat -c %i {b})" ]')


def snapshots(root):
    return succeed(f"ls {root} | xargs").strip()


# A restore from the target, as an administrator would run it: the target's user is not
# root, so what only root can set is kept in rsync's fake-super xattrs there and given
# back by --fake-super on the target's side.
RESTORE = ("rsync -aHAXS --numeric-ids --remote-option=--fake-super"
           " -e 'ssh -F /var/lib/backup-server/ssh_config -i /run/secrets/backup-server/ssh-key'")


def fidelity(day):
    """Differences between each source and its snapshot of DAY: on the backup disk, and
    as a restore from the target gives it back."""
    found = {}
    for task, source in TASKS.items():
        restored = f"/tmp/restored/{task}"
        succeed(f"rm -rf {restored} && mkdir -p /tmp/restored && "
                f"{RESTORE} backup@remote:/backup/{task}/{day}/ {restored}/")
        excludes = "--exclude '*.tmp'" if task == "home" else ""
        for side, copy in [("local", f"/mnt/backup/{task}/{day}"), ("remote", restored)]:
            diff = json.loads(succeed(f"python3 /work/src/tests/twin/manifest.py {source} {copy} {excludes}"))
            for attribute, paths in diff.items():
                found.setdefault(side, {}).setdefault(attribute, []).extend(f"{task}/{p}" for p in paths)
    return found


with subtest("the machine boots"):
    wait_until_succeeds("case $(systemctl is-system-running --wait) in running|degraded) ;; *) false ;; esac", 120)
    failed = succeed("systemctl --failed --no-legend --plain").strip()
    if failed:
        print(f"twin: units that failed at boot (not ours): {failed}")
    for unit in ("ssh.service", "smtp.service", "nginx.service"):
        wait_until_succeeds(f"systemctl is-active {unit}")
    wait_until_succeeds("exec 3<>/dev/tcp/127.0.0.1/465")
    systemd = succeed("systemctl --version | head -n 1").strip()
    print(f"twin: {systemd}")

with subtest("the timer is installed, wanted by timers.target"):
    succeed("systemctl list-timers backup-server.timer | grep backup-server.timer >/dev/null")
    succeed("systemctl is-enabled backup-server.timer; systemctl list-dependencies timers.target | grep backup-server.timer >/dev/null")
    succeed("systemctl stop backup-server.timer")
    succeed("systemctl list-timers backup-server-verify.timer | grep backup-server-verify.timer >/dev/null")
    succeed("systemctl stop backup-server-verify.timer")

with subtest("the package ships completions and man pages, made by its own postInstall"):
    package = re.search(r"(/nix/store/[^/ ]+-backup-server-[0-9.]+)/bin/backup-server",
                        succeed("cat /etc/systemd/system/backup-server.service")).group(1)
    for path in ("share/bash-completion/completions/backup-server", "share/zsh/site-functions/_backup-server",
                 "share/fish/vendor_completions.d/backup-server.fish", "share/man/man1/backup-server.1",
                 "share/man/man1/backup-server-restore.1"):
        succeed(f"test -s {package}/{path}")
    succeed(f"bash -n {package}/share/bash-completion/completions/backup-server")

with subtest("secrets reach the service only as credentials"):
    succeed("install -d -m 0751 /run/secrets/backup-server && install -m 0400 /work/secrets/* /run/secrets/backup-server/")
    fail("grep -RqF vm-test-app-password /etc/backup-server/ /nix/store/*backup_config.yml")

with subtest("doctor, as the module installs it, finds what a first run needs"):
    # The module's command, with the service's secrets: it logs in to the mail server, reaches
    # the target over SSH with the pinned host key, and writes nothing.
    report = succeed("backup-server doctor")
    for check in ("smtp", "ssh"):
        if not re.search(rf"^✓ .*{check}", report, re.M | re.I):
            sys.exit(f"twin: FAILED: doctor did not pass its {check} check:\n{report}")
    fail("test -e /var/lib/backup-server/log.db")

with subtest("day 1: every task backs up locally and syncs to the SSH target"):
    # The db task's before hook dumps this database under the hardened unit.
    succeed("mkdir -p /var/lib/app && sqlite3 /var/lib/app/app.db "
            "\"CREATE TABLE orders (item TEXT); INSERT INTO orders VALUES ('tea'), ('cake');\"")
    # What the record of the source takes as known must be older than 2 s (a change
    # time that recent could change again unseen): day 2 is then read against it.
    time.sleep(2.1)
    run_on("2026-03-01")
    for task in TASKS:
        succeed(f"test -d /mnt/backup/{task}/2026-03-01 && test -d /backup/{task}/2026-03-01")

with subtest("a before hook dumps a database into its source, and a second disk gets it"):
    succeed("sqlite3 /var/lib/app/app.db 'DELETE FROM orders'")
    for copy in ("/mnt/backup/db/2026-03-01/app.db", "/mnt/usb/db/2026-03-01/app.db"):
        rows = succeed(f"sqlite3 {copy} 'SELECT item FROM orders'")
        if rows != "tea\ncake\n":
            sys.exit(f"twin: FAILED: {copy} holds {rows!r}")
    if snapshots("/mnt/usb") != "db":
        sys.exit(f"twin: FAILED: /mnt/usb holds {snapshots('/mnt/usb')}, only the db task goes there")
    fail("test -e /backup/db")

with subtest("snapshots are faithful, or lose only what the README says"):
    found = fidelity("2026-03-01")
    for side, attributes in sorted(found.items()):
        for attribute, paths in sorted(attributes.items()):
            print(f"twin:   {side} snapshots differ in {attribute}: {len(paths)} paths, e.g. {paths[0]}")
    lost = {side: sorted(found.get(side, {})) for side in ("local", "remote")}
    expected = {side: NOT_KEPT[side] for side in ("local", "remote")}
    if lost != expected:
        sys.exit(f"twin: FAILED: the snapshots lose {lost}, expected {expected}")

with subtest("day 2: the run holds a sleep inhibitor; a link farm: unchanged files are hard links to day 1's"):
    succeed("echo 'day two' >> /home/bob/report.ods")
    run_on("2026-03-02", block=False)
    wait_until_succeeds("systemd-inhibit --list --no-pager | grep 'backup-server.*sleep.*block' >/dev/null", 30)
    wait_until_succeeds("systemctl show -P ActiveState backup-server.service | grep -x inactive", 120)
    succeed("systemctl show -P Result backup-server.service | grep -x success")
    # Made as a link farm under the unit's sandbox: only such a night leaves its change list
    # and the record of what it made (the step logs are gone once the report carried them).
    succeed("grep -q '^2026-03-02 ' /var/lib/backup-server/changes/home/night")
    # Its change list was read from the source alone, against day 1's record: the record
    # day 2 leaves says it is the first night so made (its header's age, field 7, is 1).
    succeed("head -n 1 /var/lib/backup-server/changes/home/manifest | "
            "awk '$1 == \"backup-server\" && $4 == \"2026-03-02\" && $7 == 1 { found = 1 } END { exit !found }'")
    for root in ("/mnt/backup/home", "/backup/home"):
        same_inode(f"{root}/2026-03-01/alice/docs/thesis.tex", f"{root}/2026-03-02/alice/docs/thesis.tex")
        succeed(f'[ "$(stat -c %i {root}/2026-03-01/bob/report.ods)" != "$(stat -c %i {root}/2026-03-02/bob/report.ods)" ]')
        fail(f"test -e {root}/2026-03-02/alice/docs/draft.tmp")

with subtest("a report arrives over SMTPS for every run"):
    status, _ = execute("[ $(grep -l 'Subject: Backup succeeded' /var/lib/mail/*.eml | wc -l) -ge 2 ]")
    if status != 0:
        sys.exit("twin: FAILED: no two reports of success\n" + succeed("grep -h '^Subject' /var/lib/mail/*.eml; journalctl --no-pager -o cat -u backup-server.service | tail -n 30"))

with subtest("retention over a week keeps what the policy says, on both sides"):
    for day in range(3, 10):
        run_on(f"2026-03-{day:02d}")
    # daily 3: 07, 08, 09; weekly 2: Mondays 03-02 and 03-09; monthly/yearly: 03-01.
    expected = "2026-03-01 2026-03-02 2026-03-07 2026-03-08 2026-03-09"
    for task in TASKS:
        for root in ("/mnt/backup", "/backup"):
            got = snapshots(f"{root}/{task}")
            if got != expected:
                sys.exit(f"twin: FAILED: {root}/{task} holds {got}, expected {expected}")

with subtest("nginx serves the pages from site.dir"):
    page = "curl -sf -H 'Host: backup.localhost' http://127.0.0.1"
    succeed(f"{page}/ | grep 'All backups are fine' >/dev/null")
    succeed(f"{page}/ | grep '>home</a>' >/dev/null")
    succeed(f"{page}/status.json | jq -e '(.tasks | map({{(.name): .state}}) | add)"
            f" == {{\"home\": \"ok\", \"srv\": \"ok\", \"var\": \"ok\", \"db\": \"ok\"}}'")
    succeed(f"{page}/metrics.prom | grep 'backup_server_last_run_success{{task=\"srv\"}} 1' >/dev/null")
    fail(f"{page}/.backup-server-site")
    succeed("[ $(stat -c %a /var/lib/backup-server) = 700 ]")

with subtest("the weekly verify finds the copies the same, then a flipped byte on the target"):
    run_on("2026-03-09", unit="backup-server-verify.service")
    succeed("systemctl show -P Result backup-server-verify.service | grep -x success")
    succeed(f"{page}/status.json | jq -e '[.tasks[].last_verification.success] | all'")
    # Bit rot on the target: one byte of a file, its size and times kept.
    thesis = "/backup/home/2026-03-09/alice/docs/thesis.tex"
    succeed(f"cp -p {thesis} /tmp/thesis && printf X | dd of={thesis} bs=1 count=1 conv=notrunc "
            f"2>/dev/null && touch -r /tmp/thesis {thesis}")
    run_on("2026-03-09", succeeds=False, unit="backup-server-verify.service")
    journal = succeed("journalctl --no-pager -o cat -u backup-server-verify.service")
    # thesis.tex has a hard link beside it: one file, which rsync names by either name.
    if not re.search(r"^    different content: alice/docs/thesis(-hardlink)?\.tex", journal, re.M):
        sys.exit(f"twin: FAILED: verify did not name the flipped file:\n{journal}")
    succeed(f"{page}/status.json | jq -e '.tasks[] | select(.name == \"home\") "
            "| .last_verification.success == false'")
    succeed(f"cp -p /tmp/thesis {thesis}")
    report = succeed("systemd-analyze security --no-pager backup-server-verify.service")
    score = re.search(r"Overall exposure level for backup-server-verify.service: ([0-9.]+) (\S+)", report)
    print(f"twin: backup-server-verify.service exposure {score.group(1)} {score.group(2)}")
    if float(score.group(1)) > EXPOSURE_AT_MOST:
        sys.exit(f"twin: FAILED: verify's exposure {score.group(1)} above {EXPOSURE_AT_MOST}\n{report}")

with subtest("a missing source fails the run, mails its zipped log and keeps the snapshots"):
    succeed("mv /var/local /var/local.gone")
    run_on("2026-03-10", succeeds=False)
    succeed("systemctl is-failed backup-server.service")
    wait_until_succeeds("grep -l 'Subject: Backup FAILED' /var/lib/mail/*.eml")
    succeed("grep -l 'Subject: Backup FAILED' /var/lib/mail/*.eml | xargs grep -q 'var_backup.zip'")
    succeed("test -d /mnt/backup/var/2026-03-09 && test -d /backup/var/2026-03-09")
    succeed(f"{page}/status.json | jq -e '.tasks[] | select(.name == \"var\") | .state == \"failing\"'")
    succeed("mv /var/local.gone /var/local")

with subtest(f"the unit's exposure stays at most {EXPOSURE_AT_MOST}"):
    report = succeed("systemd-analyze security --no-pager backup-server.service")
    score = re.search(r"Overall exposure level for backup-server.service: ([0-9.]+) (\S+)", report)
    print(f"twin: exposure {score.group(1)} {score.group(2)} ({systemd})")
    if float(score.group(1)) > EXPOSURE_AT_MOST:
        sys.exit(f"twin: FAILED: exposure {score.group(1)} above {EXPOSURE_AT_MOST}\n{report}")

# The btrfs night: the backup disk becomes a btrfs image (tests/twin/run made it on the
# host and bound it at /mnt/btrfs-disk) and the config the VM test's btrfs variant's node
# (checks.vm-btrfs) renders, whose home task's before hook makes, snapshots, sends, receives
# and deletes subvolumes there. The unit without services.backupServer.btrfs (this one so
# far, which differs from the btrfs node's only in the directives the option sets) must
# fail on EPERM in btrfs send and subvolume delete (and may receive); the btrfs node's unit
# must succeed.
twin = json.load(open(f"{work}/out/twin.json"))
btrfs_unit = twin["btrfs"]["units"]["backup-server.service"]["path"] + "/backup-server.service"


def exposure(unit):
    report = succeed(f"systemd-analyze security --no-pager {unit}")
    score = re.search(rf"Overall exposure level for {re.escape(unit)}: ([0-9.]+) (\S+)", report)
    return float(score.group(1)), score.group(2), report


with subtest("the btrfs node's unit differs from the server's in CapabilityBoundingSet and PATH only"):
    def lines(path):
        return succeed(f"cat {path}").splitlines()
    off, on = lines("/etc/systemd/system/backup-server.service"), lines(btrfs_unit)
    changed = sorted({line.split("=", 1)[0] for line in set(off) ^ set(on)})
    if changed != ["CapabilityBoundingSet", "Environment"]:
        sys.exit(f"twin: FAILED: the units differ in {changed}")
    # NixOS writes the list one line an item: the option adds one.
    added = sorted(line for line in set(on) - set(off) if line.startswith("CapabilityBoundingSet="))
    if added != ["CapabilityBoundingSet=CAP_SYS_ADMIN"]:
        sys.exit(f"twin: FAILED: btrfs.enable adds {added} to the bounding set")
    succeed("mount --bind /mnt/btrfs-disk /mnt/backup && [ $(findmnt -n -o FSTYPE /mnt/backup) = btrfs ]")
    succeed(f"ln -sfn {twin['btrfs']['etc']['backup-server/backup_config.yml']} /etc/backup-server/backup_config.yml")

with subtest("without btrfs.enable, btrfs send and subvolume delete fail with EPERM under the unit"):
    off_score, off_word, _ = exposure("backup-server.service")
    run_on("2026-03-11", succeeds=False)
    journal = succeed("journalctl --no-pager -o cat _SYSTEMD_INVOCATION_ID=$(systemctl show -P InvocationID backup-server.service)")
    # The hook's stderr, as the run reports its failure (the whole is in the step log).
    why = re.search(r"^task home: before FAILED .*$", journal, re.M)
    if not why or not re.search(r"btrfs probe failed: send \(Operation not permitted\) receive \(.*\)"
                                r" delete \(Operation not permitted\) \(log: ", why.group(0)):
        sys.exit(f"twin: FAILED: the hook did not fail in send, receive and delete alone:\n{journal}")
    print(f"twin:   {why.group(0)}")
    fail("test -e /mnt/backup/home/2026-03-11")

with subtest("without btrfs.enable, btrfs receive succeeds under the unit all the same"):
    # The night could not send, so root outside the unit sends what it left, and the unit
    # (with only its ExecStart replaced) receives it.
    given = "/mnt/backup/.btrfs-given.stream"
    succeed(f"btrfs send -q -f {given} /mnt/backup/.btrfs-probe-ro")
    drop_in = "/run/systemd/system/backup-server.service.d/zz-receive.conf"
    succeed(f"cat > {drop_in} <<'EOF'\n[Service]\nExecStart=\n"
            f"ExecStart=/usr/bin/btrfs receive -f {given} /mnt/backup/.btrfs-probe-received\nEOF\n"
            "systemctl daemon-reload && systemctl reset-failed backup-server.service")
    succeed("systemctl start backup-server.service")
    succeed(f"rm {drop_in} {given} && systemctl daemon-reload")
    succeed("btrfs property get -ts /mnt/backup/.btrfs-probe-received/.btrfs-probe-ro ro | grep -x ro=true")

with subtest("with btrfs.enable, a btrfs night succeeds: subvolumes made, sent, received, deleted"):
    succeed(f"ln -sfn {btrfs_unit} /etc/systemd/system/backup-server.service && systemctl daemon-reload")
    run_on("2026-03-12")
    succeed("systemctl show -P Result backup-server.service | grep -x success")
    succeed("journalctl --no-pager -o cat _SYSTEMD_INVOCATION_ID=$(systemctl show -P InvocationID backup-server.service) | grep -x 'task home: before succeeded in .*'")
    fail("ls -d /mnt/backup/.btrfs-probe*")
    for task in TASKS:
        succeed(f"test -d /mnt/backup/{task}/2026-03-12 && test -d /backup/{task}/2026-03-12")
    on_score, on_word, report = exposure("backup-server.service")
    print(f"twin: backup-server.service exposure, btrfs.enable off {off_score} {off_word}, on {on_score} {on_word}")
    # CAP_SYS_ADMIN costs 0.3 (docs/nixos.md#snapshots-on-btrfs); the limit is the same.
    if on_score > EXPOSURE_AT_MOST:
        sys.exit(f"twin: FAILED: exposure with btrfs.enable {on_score} above {EXPOSURE_AT_MOST}\n{report}")
