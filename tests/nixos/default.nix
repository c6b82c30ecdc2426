# The appliance end to end, in NixOS VMs (nix flake check): a server running
# services.backupServer with its secrets from sops-nix, a remote reached over SSH with
# a pinned host key, and a mail server speaking implicit TLS with AUTH.
# Keys under ./keys are test-only, made for this test. ./keys/secrets.yaml is a sops file
# encrypted with sops 3.11 for the age key ./keys/age-key.txt, which reaches the server at
# boot outside the store, as in sops-nix's own tests.
#
# With `btrfs = true` (the flake's checks.vm-btrfs), the backup disk is a btrfs file system
# on a disk of its own, services.backupServer.btrfs is on, and the home task's before hook
# (btrfsProbe) makes, snapshots, sends, receives and deletes subvolumes on it under the
# hardened unit: each night fails unless the unit may. The unit twin boots this variant's
# unit for a btrfs night on a loop-mounted image (tests/twin/scenario.py).
{
  pkgs,
  sops-nix,
  module,
  btrfs ? false,
}:
let
  # The password ./keys/secrets.yaml holds.
  password = "vm-test-app-password";
  keys = ./keys;
  smtpServer = pkgs.python3.withPackages (p: [ p.aiosmtpd ]);
  # What a btrfs night does with subvolumes, tried as root in the unit, each command on its
  # own; the hook fails naming those that failed and why. btrfs is named by its store path, so that
  # a unit without services.backupServer.btrfs fails on EPERM, not on a PATH without btrfs
  # (the unit twin runs it so: send and delete fail, create and snapshot do not).
  btrfsProbe = ''
    btrfs=${pkgs.btrfs-progs}/bin/btrfs p=/mnt/backup/.btrfs-probe failed=
    # Runs btrfs "$@"; when it fails, adds "WHAT (the end of its last error)" to $failed.
    exec 3>&1
    try() {
      what=$1
      shift
      if ! errors=$($btrfs "$@" 2>&1 1>&3); then
        last=$(printf '%s\n' "$errors" | grep 'ERROR: ' | tail -n 1)
        failed="$failed $what (''${last##*: })"
      fi
      printf '%s\n' "$errors" >&2
    }
    # What a night that could not delete them left (one without btrfs.enable).
    for s in $p-received/.btrfs-probe-ro $p-ro $p; do [ ! -d $s ] || try cleanup subvolume delete $s; done
    rm -rf $p-received $p.stream && mkdir $p-received
    try create subvolume create $p
    try snapshot subvolume snapshot -r $p $p-ro
    try send send -q -f $p.stream $p-ro
    try receive receive -f $p.stream $p-received
    try delete subvolume delete $p-received/.btrfs-probe-ro $p-ro $p
    rm -f $p.stream
    if [ -n "$failed" ]; then echo "btrfs probe failed:$failed" >&2; exit 1; fi
    rmdir $p-received
  '';
  # The btrfs variant's lines of the test script; the other's is as it was.
  btrfsDisk = pkgs.lib.optionalString btrfs ''
    server.succeed("mkfs.btrfs -q /dev/vdb && mount /dev/vdb /mnt/backup")
  '';
  btrfsChecks = pkgs.lib.optionalString btrfs (
    "\n"
    + ''
    with subtest("the home task's before hook made, sent, received and deleted subvolumes on btrfs"):
        server.succeed("[ $(findmnt -n -o FSTYPE /mnt/backup) = btrfs ]")
        server.succeed("journalctl -u backup-server.service | grep -q 'task home: before succeeded'")
        server.fail("ls -d /mnt/backup/.btrfs-probe*")
    ''
  );
in
pkgs.testers.runNixOSTest {
  name = if btrfs then "backup-server-btrfs" else "backup-server";

  nodes = {
    server =
      { lib, ... }:
      {
        imports = [
          module
          sops-nix.nixosModules.sops
          {
            config = lib.mkIf btrfs {
              # The backup disk, made a btrfs file system by the test script.
              virtualisation.emptyDiskImages = [ 1024 ];
              environment.systemPackages = [ pkgs.btrfs-progs ];
              services.backupServer = {
                btrfs.enable = true;
                tasks.home.before = btrfsProbe;
              };
            };
          }
        ];
        time.timeZone = "UTC";
        # The test moves the clock; nothing may move it back.
        services.timesyncd.enable = false;
        # curl and jq look at the pages; rsync and ssh restore from the remote; the rest
        # makes and compares the sources.
        environment.systemPackages = [
          pkgs.curl
          pkgs.jq
          pkgs.rsync
          pkgs.openssh
          pkgs.acl
          pkgs.attr
          pkgs.libcap
          pkgs.python3
          pkgs.sqlite
        ];
        # The database the db task's before hook dumps (sqlite3 on the unit's PATH).
        systemd.services.backup-server.path = [ pkgs.sqlite ];
        systemd.tmpfiles.rules = [
          "d /var/backup/db 0700 root root -"
          "d /mnt/usb 0700 root root -"
        ];
        # The key must be in place before sops-nix decrypts, and never in the store's
        # view of the options: copied in by the initrd, as sops-nix's age-keys test does.
        sops.age.keyFile = "/run/age-keys.txt";
        boot.initrd.postDeviceCommands = ''
          cp ${keys}/age-key.txt /run/age-keys.txt
          chmod 600 /run/age-keys.txt
        '';

        services.backupServer = {
          enable = true;
          localDir = "/mnt/backup";
          remoteDir = "backup@remote:/backup";
          # A second disk, kept longer: only the database goes there.
          targets.usb = {
            location = "/mnt/usb";
            retention.daily = 30;
          };
          # What a real server holds (tests/twin/make-sources fills them), and a database
          # dumped by a before hook under the hardened unit.
          tasks = {
            home = {
              source = "/home";
              excludes = [ "*.tmp" ];
              targets = [ "remote" ];
            };
            srv = {
              source = "/srv";
              targets = [ "remote" ];
            };
            var = {
              source = "/var/local";
              targets = [ "remote" ];
            };
            db = {
              source = "/var/backup/db";
              before = "sqlite3 /var/lib/app/app.db '.backup /var/backup/db/app.db'";
              writablePaths = [ "/var/backup/db" ];
              targets = [ "usb" ];
            };
          };
          retention = {
            daily = 3;
            weekly = 2;
            monthly = 2;
            yearly = 1;
          };
          email = {
            sender = "backup@example.com";
            to = "admin@example.com";
            admin = "boss@example.com";
          };
          smtp = {
            host = "mail";
            port = 465;
            caFile = "${keys}/smtp-ca.pem";
          };
          ssh.knownHosts = "remote ${builtins.readFile ./keys/remote_host_ed25519.pub}";
          sops = {
            enable = true;
            sopsFile = ./keys/secrets.yaml;
          };
          site.nginx.enable = true;
        };
      };

    remote =
      { ... }:
      {
        services.openssh = {
          enable = true;
          hostKeys = [
            {
              path = "/etc/ssh/ssh_host_ed25519_key";
              type = "ed25519";
            }
          ];
        };
        environment.etc."ssh/ssh_host_ed25519_key" = {
          source = "${keys}/remote_host_ed25519";
          mode = "0600";
        };
        environment.systemPackages = [
          pkgs.rsync
          pkgs.python3
          pkgs.acl
        ];
        users.users.backup = {
          isNormalUser = true;
          openssh.authorizedKeys.keyFiles = [ ./keys/client_ed25519.pub ];
        };
        systemd.tmpfiles.rules = [ "d /backup 0750 backup users -" ];
      };

    mail =
      { ... }:
      {
        networking.firewall.allowedTCPPorts = [ 465 ];
        systemd.services.smtp = {
          wantedBy = [ "multi-user.target" ];
          serviceConfig.StateDirectory = "mail";
          script = ''
            exec ${smtpServer}/bin/python3 ${../support/smtp_server.py} 465 \
              ${keys}/smtp.pem ${keys}/smtp-key.pem backup@example.com ${password} /var/lib/mail 0.0.0.0
          '';
        };
      };
  };

  # The same scenario as the unit twin (tests/twin/scenario.py), on three machines.
  testScript = ''
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("manifest", "${../twin/manifest.py}")
    manifest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(manifest)
    not_kept = json.load(open("${../twin/not-kept.json}"))
    tasks = {"home": "/home", "srv": "/srv", "var": "/var/local"}

    def run_on(day, succeed=True):
        server.succeed(f"timedatectl set-time '{day} 02:00:00'")
        # Days follow each other within seconds here: clear systemd's start rate limit
        # (5 in 10 s), which nightly starts never reach.
        server.execute("systemctl reset-failed backup-server.service")
        if succeed:
            server.succeed("systemctl start backup-server.service")
        else:
            server.fail("systemctl start backup-server.service")

    def same_inode(machine, a, b):
        machine.succeed(f'[ "$(stat -c %i {a})" = "$(stat -c %i {b})" ]')

    def dump(machine, tree, excludes=""):
        return json.loads(machine.succeed(f"python3 ${../twin/manifest.py} --dump {tree} {excludes}"))

    start_all()
    remote.wait_for_unit("sshd.service")
    mail.wait_for_unit("smtp.service")
    mail.wait_for_open_port(465)
    server.wait_for_unit("multi-user.target")

    with subtest("the timer is installed"):
        server.succeed("systemctl list-timers backup-server.timer | grep backup-server")
        # The test moves the clock by days; runs happen when the test says.
        server.succeed("systemctl stop backup-server.timer")

    with subtest("secrets reach the service only as credentials"):
        server.succeed("test -f /run/secrets/backup-server/gmail-password")
        server.succeed("test -f /run/secrets/backup-server/ssh-key")
        server.fail("grep -R '${password}' /etc/backup-server/")

    server.succeed("mkdir -p /mnt/backup", "${../twin/make-sources}")
    ${btrfsDisk}
    with subtest("day 1: snapshots are faithful, or lose only what the README says"):
        # The db task's before hook dumps this database under the hardened unit.
        server.succeed("mkdir -p /var/lib/app && sqlite3 /var/lib/app/app.db "
                       "\"CREATE TABLE orders (item TEXT); INSERT INTO orders VALUES ('tea'), ('cake');\"")
        run_on("2026-03-01")
        lost = {"local": set(), "remote": set()}
        # The remote side, as a restore from it gives it back: its user is not root, so
        # what only root can set is kept in rsync's fake-super xattrs there.
        restore = ("rsync -aHAXS --numeric-ids --remote-option=--fake-super"
                   " -e 'ssh -F /var/lib/backup-server/ssh_config -i /run/secrets/backup-server/ssh-key'")
        for task, source in tasks.items():
            excludes = "--exclude '*.tmp'" if task == "home" else ""
            before = dump(server, source, excludes)
            server.succeed(f"rm -rf /tmp/restored/{task} && mkdir -p /tmp/restored && "
                           f"{restore} backup@remote:/backup/{task}/2026-03-01/ /tmp/restored/{task}/")
            for side, copy in [("local", f"/mnt/backup/{task}/2026-03-01"), ("remote", f"/tmp/restored/{task}")]:
                found = manifest.differences(before, dump(server, copy))
                print(side, task, json.dumps(found, sort_keys=True))
                lost[side] |= set(found)
        assert {k: sorted(v) for k, v in lost.items()} == {k: not_kept[k] for k in lost}, lost
    ${btrfsChecks}
    with subtest("a before hook dumps a database into its source, and a second disk gets it"):
        server.succeed("sqlite3 /var/lib/app/app.db 'DELETE FROM orders'")
        for copy in ("/mnt/backup/db/2026-03-01/app.db", "/mnt/usb/db/2026-03-01/app.db"):
            rows = server.succeed(f"sqlite3 {copy} 'SELECT item FROM orders'")
            assert rows == "tea\ncake\n", (copy, rows)
        server.succeed('[ "$(ls /mnt/usb | xargs)" = "db" ]')
        remote.fail("test -e /backup/db")

    with subtest("day 2: unchanged files are hard links to day 1's, locally and on the remote"):
        server.succeed("echo 'day two' >> /home/bob/report.ods")
        run_on("2026-03-02")
        for machine, root in [(server, "/mnt/backup/home"), (remote, "/backup/home")]:
            same_inode(machine, f"{root}/2026-03-01/alice/docs/thesis.tex", f"{root}/2026-03-02/alice/docs/thesis.tex")
            machine.succeed(f'[ "$(stat -c %i {root}/2026-03-01/bob/report.ods)" != "$(stat -c %i {root}/2026-03-02/bob/report.ods)" ]')
            machine.fail(f"test -e {root}/2026-03-02/alice/docs/draft.tmp")

    with subtest("a report arrives for every run"):
        mail.wait_until_succeeds("[ $(grep -l 'Subject: Backup succeeded' /var/lib/mail/*.eml | wc -l) -ge 2 ]")

    with subtest("retention over a week keeps what the policy says, on both sides"):
        for day in range(3, 10):
            run_on(f"2026-03-{day:02d}")
        # daily 3: 07, 08, 09; weekly 2: Mondays 03-02 and 03-09; monthly/yearly: 03-01.
        expected = "2026-03-01 2026-03-02 2026-03-07 2026-03-08 2026-03-09"
        for task in tasks:
            server.succeed(f'[ "$(ls /mnt/backup/{task} | xargs)" = "{expected}" ]')
            remote.succeed(f'[ "$(ls /backup/{task} | xargs)" = "{expected}" ]')

    with subtest("nginx serves the pages"):
        server.wait_for_unit("nginx.service")
        page = "curl -sf -H 'Host: backup.localhost' http://127.0.0.1"
        server.succeed(f"{page}/ | grep -q 'All backups are fine'")
        server.succeed(f"{page}/ | grep -q '>home</a>'")
        server.succeed(f"{page}/status.json | jq -e '(.tasks | map({{(.name): .state}}) | add) == {{\"home\": \"ok\", \"srv\": \"ok\", \"var\": \"ok\", \"db\": \"ok\"}}'")
        server.succeed(f"{page}/metrics.prom | grep -q 'backup_server_last_run_success{{task=\"srv\"}} 1'")
        server.fail(f"{page}/.backup-server-site")
        # The DB, logs and secrets stay private.
        server.succeed("[ $(stat -c %a /var/lib/backup-server) = 700 ]")

    with subtest("a missing source fails the run, mails the log and leaves the snapshots"):
        server.succeed("mv /var/local /var/local.gone")
        run_on("2026-03-10", succeed=False)
        mail.wait_until_succeeds("grep -l 'Subject: Backup FAILED' /var/lib/mail/*.eml")
        mail.succeed("grep -l 'Subject: Backup FAILED' /var/lib/mail/*.eml | xargs grep -q 'var_backup.zip'")
        server.succeed("test -d /mnt/backup/var/2026-03-09")
        remote.succeed("test -d /backup/var/2026-03-09")
        server.succeed(f"{page}/status.json | jq -e '.tasks[] | select(.name == \"var\") | .state == \"failing\"'")

    with subtest("the unit's exposure stays at most 3.0"):
        server.succeed("systemd-analyze security --threshold=30 backup-server.service")
  '';
}
