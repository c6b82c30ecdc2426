# services.backupServer: nightly rsync snapshots, retention, a mirror over SSH, an
# email report and static history pages, from a few lines of configuration.nix.
#
# The options are rendered into /etc/backup-server/backup_config.yml by the pure
# function in ./render-config.nix and validated at build time with
# `backup-server check-config`, so a bad config fails nixos-rebuild, not the 2 a.m. run.
# Secrets (the Gmail app password, the SSH key) reach the service only through
# systemd's LoadCredential: they stay root-only on disk and never enter the store (their
# options take a path as a string, and refuse a Nix path literal, which would be copied
# into the world-readable store).
{
  config,
  lib,
  options,
  pkgs,
  ...
}:
let
  inherit (lib)
    literalExpression
    mkEnableOption
    mkIf
    mkMerge
    mkOption
    optional
    optionalAttrs
    optionals
    types
    ;
  inherit (import ./options.nix { inherit lib; }) mkBoolOption mkNullOrOption mkSecretFileOption;
  cfg = config.services.backupServer;
  timer = import ./timer.nix { inherit lib; };

  unit = "backup-server.service";
  credentials = "/run/credentials/${unit}";
  isSsh = location: builtins.match "[^/]*:/.*" location != null;
  # Every place snapshots are mirrored to: remoteDir, then the targets.
  targetLocations = optional (cfg.remoteDir != null) cfg.remoteDir ++ map (t: t.location) (lib.attrValues cfg.targets);
  localTargets = lib.filter (l: !isSsh l) targetLocations;
  # The local disks, split by whether the run itself checks that each is mounted
  # (requireMountpoint): such a disk's mount is only wanted, so that a failed mount
  # fails its own step, recorded and reported; any other's is required, so that the
  # run never writes through an empty mount directory onto the root file system.
  guardedDisks =
    optional cfg.requireMountpoint cfg.localDir
    ++ map (t: t.location) (lib.filter (t: t.requireMountpoint && !isSsh t.location) (lib.attrValues cfg.targets));
  unguardedDisks = lib.filter (p: !lib.elem p guardedDisks) ([ cfg.localDir ] ++ localTargets);
  anySsh = lib.any isSsh targetLocations || lib.any (t: isSsh t.source) (lib.attrValues cfg.tasks);
  targetNamePattern = "[a-z0-9][a-z0-9-]{0,31}";
  taskNamePattern = "[A-Za-z0-9][A-Za-z0-9._-]*";
  locationPattern = "(/.+|[A-Za-z0-9._-]+@?[A-Za-z0-9._-]*:/.+)";

  # Per-key changes to a policy (a target's): null keeps the task's value.
  retentionChanges = lib.genAttrs [ "daily" "weekly" "monthly" "yearly" ] (
    period:
    mkNullOrOption types.ints.unsigned {
      example = 36;
      description = "Replaces the task's ${period} count on this target; null keeps it.";
    }
  );

  targetModule = {
    options = {
      location = mkOption {
        type = types.str;
        example = "backup@offsite.lan:/srv/backup";
        description = "Where: `user@host:/path` over SSH (with {option}`services.backupServer.ssh.keyFile`), or an absolute local path (a second disk).";
      };
      retention = retentionChanges;
      bwlimitKiB = mkNullOrOption types.ints.positive {
        example = 2000;
        description = "Limit transfers to this target to so many KiB/s (rsync --bwlimit); default {option}`services.backupServer.sync.bwlimitKiB`.";
      };
      compress = mkNullOrOption types.bool {
        example = false;
        description = "Compress what is sent (rsync --compress); default {option}`services.backupServer.sync.compress`, else on over SSH and off for a local path.";
      };
      requireMountpoint = mkBoolOption false "For a target on a local path (a second disk): fail its sync unless {option}`location` is a mount point, so that an unplugged disk is never filled through its empty mount directory.";
    };
  };

  # A policy's four counts, each defaulting to its value in `defaults`.
  retentionOptions =
    defaults:
    let
      count =
        period: example: description:
        mkOption {
          type = types.ints.unsigned;
          default = defaults.${period};
          inherit example description;
        };
    in
    {
      daily = count "daily" 14 "How many of the newest snapshots to keep.";
      weekly = count "weekly" 8 "For how many of the newest ISO weeks holding a snapshot to keep the week's oldest one.";
      monthly = count "monthly" 24 "For how many of the newest months holding a snapshot to keep the month's oldest one.";
      yearly = count "yearly" 10 "For how many of the newest years holding a snapshot to keep the year's oldest one.";
    };

  taskModule =
    { name, ... }:
    {
      options = {
        source = mkOption {
          type = types.str;
          example = "/home";
          description = "What to back up: an absolute local path, or `user@host:/path` over SSH.";
        };
        excludes = mkOption {
          type = types.listOf types.str;
          default = [ ];
          example = [
            ".cache/"
            "*.tmp"
          ];
          description = "rsync exclude patterns.";
        };
        retention = mkNullOrOption (types.submodule { options = retentionOptions cfg.retention; }) {
          example = {
            daily = 3;
            monthly = 24;
          };
          description = "This task's own retention policy; keys left out take the values of {option}`services.backupServer.retention`.";
        };
        before = mkNullOrOption types.lines {
          example = literalExpression ''"''${pkgs.sqlite}/bin/sqlite3 /var/lib/app/app.db \".backup /var/backup/app/app.db\""'';
          description = ''
            A shell command run first (by `/bin/sh -c`, as root, in the hardened unit): a database
            dump into the source, say. If it fails or runs longer than `hookTimeoutSec`, no
            snapshot is taken. It sees `BACKUP_SERVER_TASK`, `BACKUP_SERVER_SOURCE` and
            `BACKUP_SERVER_SNAPSHOT`; where it writes must be in `writablePaths`.
          '';
        };
        after = mkNullOrOption types.lines {
          example = "rm -f /var/backup/app/app.db";
          description = ''
            A shell command run last, whatever happened, told how the task went in
            `BACKUP_SERVER_OUTCOME` (`ok`, `warned` or `failed`) and `BACKUP_SERVER_FAILED_STEPS`.
          '';
        };
        hookTimeoutSec = mkOption {
          type = types.ints.positive;
          default = 3600;
          example = 7200;
          description = "How long `before` and `after` may run before they are stopped (their whole process group).";
        };
        writablePaths = mkOption {
          type = types.listOf types.str;
          default = [ ];
          example = [ "/var/backup/app" ];
          description = "Paths the hooks write to (the unit's file system is read-only but for these and the backup directories).";
        };
        oneFileSystem = mkBoolOption false "Do not cross file systems inside the source (rsync --one-file-system): a mount under it is left out, its mount point kept.";
        targets = mkNullOrOption (types.listOf types.str) {
          example = [ "remote" "usb" ];
          description = "The targets this task goes to (`remote` is {option}`services.backupServer.remoteDir`); all of them when null.";
        };
      };
    };

  # The paths the service sees: credentials for secrets, the store for public files.
  knownHostsFile = if cfg.ssh.knownHosts == null then null else pkgs.writeText "backup-server-known_hosts" cfg.ssh.knownHosts;
  sshConfigFile = if cfg.ssh.extraConfig == "" then null else pkgs.writeText "backup-server-ssh_config" cfg.ssh.extraConfig;
  rendered = import ./render-config.nix {
    inherit (cfg)
      localDir
      remoteDir
      requireMountpoint
      tasks
      targets
      sync
      retention
      email
      smtp
      staleAfterDays
      settings
      disk
      schedule
      ;
    siteUrl =
      if cfg.site.url != null then
        cfg.site.url
      else if cfg.site.enable && cfg.site.nginx.enable then
        "http://${cfg.site.nginx.hostName}/"
      else
        null;
    sshKeyPath = if cfg.ssh.keyFile == null then null else "${credentials}/ssh-key";
    knownHostsPath = if knownHostsFile == null then null else "${knownHostsFile}";
    sshConfigPath = if sshConfigFile == null then null else "${sshConfigFile}";
  };
  configJson = pkgs.writeText "backup_config.yml" (builtins.toJSON rendered);
  # Validated at build time, as services.borgmatic does: a bad config fails the build, with
  # check-config's own messages (each names a key of backup_config.yml) and what to do.
  configCheck = pkgs.runCommand "backup-server-check-config" { } ''
    if ! ${cfg.package}/bin/backup-server --config ${configJson} check-config > $out; then
      echo "services.backupServer: backup-server check-config refuses the backup_config.yml rendered from" >&2
      echo "the options (see above; dir_backup_local is localDir, dir_backup_remote remoteDir, tasks[N]" >&2
      echo "the N-th of tasks by name, email_* email.*, ssh_* ssh.*, smtp smtp.*, other keys settings)." >&2
      echo "Fix the option, or set services.backupServer.enableConfigCheck = false if the package" >&2
      echo "cannot run on this build machine." >&2
      exit 1
    fi
  '';
  backupCommand =
    import ./command.nix { inherit lib; } cfg
    ++ optional (!cfg.email.enable) "--no-email"
    ++ [ "run" ];
  # As services.restic does: systemd-inhibit holds the lock for as long as the run goes.
  inhibitCommand = [
    "${pkgs.systemd}/bin/systemd-inhibit"
    "--mode=block"
    "--what=sleep"
    "--who=backup-server"
    "--why=Backing up"
  ];
  siteParent = dirOf cfg.site.dir;
in
{
  # Pings (notify.*), `sudo backup-server doctor`, the weekly verify and what btrfs
  # snapshots need of the nightly unit, each in a file of its own.
  imports = [
    ./notify.nix
    ./doctor.nix
    ./verify.nix
    ./btrfs.nix
  ];

  options.services.backupServer = {
    enable = mkEnableOption "backup-server: nightly rsync snapshots, mirrored over SSH, reported by email";

    # nixpkgs has no backup-server: the default is this flake's package, built with the
    # system's own nixpkgs (as harmonia's module does), unless pkgs has one (an overlay).
    package = lib.mkPackageOption pkgs "backup-server" { } // {
      default = pkgs.backup-server or (pkgs.callPackage ../nix/package.nix { });
      defaultText = literalExpression "pkgs.backup-server or (pkgs.callPackage ./nix/package.nix { })";
    };

    enableConfigCheck = mkBoolOption true ''
      Run `backup-server check-config` on the rendered backup_config.yml when the system is
      built, so a bad configuration fails the build rather than the nightly run. Turn it off
      only where the package cannot run on the build machine (cross-compilation).
    '';

    inhibitsSleep = mkBoolOption true ''
      Hold a systemd sleep inhibitor (`systemd-inhibit --mode=block --what=sleep`) while a
      run is going, so suspend waits for the backup instead of cutting an rsync short. On by
      default: the run is root's, so no polkit rule is needed, and a machine that never
      sleeps loses nothing.
    '';

    localDir = mkOption {
      type = types.str;
      example = "/mnt/backup";
      description = ''
        Where snapshots go: `<localDir>/<task>/YYYY-MM-DD/`. The module does not create it.
        The unit requires its mount (RequiresMountsFor=), or with
        {option}`services.backupServer.requireMountpoint` only wants it and the run's backup
        step fails, recorded and reported, when it is not mounted.
      '';
    };

    requireMountpoint = mkBoolOption false "Fail the run unless {option}`services.backupServer.localDir` is a mount point.";

    remoteDir = mkNullOrOption types.str {
      example = "backup@nas.lan:/srv/backup";
      description = ''
        Where snapshots are mirrored: `user@host:/path` over SSH, or an absolute local path (the
        target named `remote`). More places go in {option}`services.backupServer.targets`; at
        least one of the two is needed.
      '';
    };

    targets = mkOption {
      type = types.attrsOf (types.submodule targetModule);
      default = { };
      example = literalExpression ''
        {
          usb = { location = "/mnt/usb-backup"; retention.daily = 30; };
          offsite = { location = "backup@offsite.lan:/srv/backup"; retention.monthly = 36; bwlimitKiB = 2000; };
        }
      '';
      description = ''
        More places to mirror snapshots to, by name (`[a-z0-9-]`, up to 32): each synced and pruned
        on its own, by the task's policy with the target's changes, so one may keep longer than
        the backup disk; one that fails never stops the others.
      '';
    };

    sync = {
      bwlimitKiB = mkNullOrOption types.ints.positive {
        example = 5000;
        description = "Limit every transfer to a target to so many KiB/s (rsync --bwlimit), unless the target sets its own.";
      };
      compress = mkNullOrOption types.bool {
        example = false;
        description = "Compress transfers to targets (rsync --compress); null: on over SSH, off for a local path.";
      };
    };

    tasks = mkOption {
      type = types.attrsOf (types.submodule taskModule);
      default = { };
      example = literalExpression ''
        {
          home = { source = "/home"; excludes = [ ".cache/" ]; };
          photos = { source = "pi@camera.lan:/photos"; retention.monthly = 24; };
        }
      '';
      description = "What to back up, by task name (it becomes a directory name).";
    };

    retention = retentionOptions {
      daily = 7;
      weekly = 4;
      monthly = 12;
      yearly = 5;
    };

    email = {
      enable = mkBoolOption true ''
        Email reports (through Gmail's SMTPS, or {option}`services.backupServer.smtp`). When
        off, no report is sent (`email_when: never`) and no password, sender or recipient is
        needed.
      '';
      when = mkOption {
        type = types.enum [
          "always"
          "attention"
        ];
        default = "always";
        example = "attention";
        description = ''
          `always`: a report after every run. `attention`: only when something needs attention
          (a failure, a warning, a task not ok, a recovery, a disk filling up), and a short
          summary once a week ({option}`services.backupServer.email.summaryWeekday`), so that
          silence still proves the runs go on.
        '';
      };
      summaryWeekday = mkOption {
        type = types.enum [
          "monday"
          "tuesday"
          "wednesday"
          "thursday"
          "friday"
          "saturday"
          "sunday"
        ];
        default = "monday";
        example = "friday";
        description = "The day of the weekly summary when {option}`services.backupServer.email.when` is `attention`.";
      };
      sender = mkNullOrOption types.str {
        example = "me@gmail.com";
        description = "The Gmail address reports come from; also the SMTP user. Required when email is on.";
      };
      to = mkNullOrOption types.str {
        example = "me@gmail.com";
        description = "Receives every report. Required when email is on.";
      };
      admin = mkNullOrOption types.str {
        example = "admin@example.org";
        description = "Copied on reports of failed runs.";
      };
      passwordFile = mkSecretFileOption {
        example = "/run/secrets/backup-server/gmail-password";
        description = ''
          The file holding the Gmail app password (sops-nix, agenix or a plain root-only file),
          as a string: it reaches the service through LoadCredential and never enters the store.
          A Nix path literal (`./gmail-password`) is refused, because Nix would copy the
          password into the world-readable store. Required when email is on (set by
          {option}`services.backupServer.sops.enable`).
        '';
      };
    };

    smtp = {
      host = mkOption {
        type = types.str;
        default = "smtp.gmail.com";
        example = "mail.example.org";
        description = "SMTP server, spoken to over implicit TLS.";
      };
      port = mkOption {
        type = types.port;
        default = 465;
        example = 4650;
        description = "SMTP port (implicit TLS).";
      };
      caFile = mkNullOrOption types.path {
        example = "/etc/ssl/certs/relay-ca.pem";
        description = "An extra trusted root for a self-hosted relay; certificates are always verified.";
      };
      timeoutSecs = mkOption {
        type = types.ints.between 1 3600;
        default = 30;
        example = 90;
        description = "How long to wait for the SMTP server at each step before trying again (three tries).";
      };
    };

    ssh = {
      keyFile = mkSecretFileOption {
        example = "/run/secrets/backup-server/ssh-key";
        description = ''
          The private key for every SSH connection, as a string; handed over through
          LoadCredential. A Nix path literal is refused: it would put the key into the store.
        '';
      };
      knownHosts = mkNullOrOption types.lines {
        example = "nas.lan ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI...";
        description = "known_hosts lines; when set, host keys are checked strictly. When not, a host is trusted on first use.";
      };
      extraConfig = mkOption {
        type = types.lines;
        default = "";
        example = ''
          Host nas.lan
            Port 2222
        '';
        description = "ssh_config lines (ports, users, jump hosts).";
      };
    };

    staleAfterDays = mkOption {
      type = types.ints.positive;
      default = 2;
      example = 7;
      description = "A task without a success for longer is flagged stale in reports and on the site.";
    };

    disk = {
      minFreePercent = mkOption {
        type = types.ints.between 0 99;
        default = 10;
        example = 20;
        description = "A disk (the backup disk or a target) needs attention when less than this share of its bytes or inodes is free.";
      };
      fullWithinDays = mkOption {
        type = types.ints.unsigned;
        default = 30;
        example = 60;
        description = "A disk needs attention when, at the rate of the last 30 days, it is full within this many days.";
      };
    };

    site = {
      enable = mkBoolOption true "Render the static history pages after every run.";
      url = mkNullOrOption types.str {
        example = "https://backup.nas.lan/";
        description = "Where the pages are served, for a link in every report; with {option}`services.backupServer.site.nginx.enable`, `http://<hostName>/` when unset.";
      };
      dir = mkOption {
        type = types.str;
        default = "/var/lib/backup-server-site/html";
        example = "/srv/www/backups/html";
        description = "Where the pages are published (its parent must be writable by the service).";
      };
      nginx = {
        enable = mkEnableOption "serving the history pages with nginx";
        hostName = mkOption {
          type = types.str;
          default = "backup.localhost";
          example = "backup.home.lan";
          description = "The nginx virtual host name.";
        };
        basicAuthFile = mkSecretFileOption {
          example = "/run/secrets/backup-server/htpasswd";
          description = "An htpasswd file protecting the pages, as a string (a Nix path literal is refused: it would put the hashes into the store).";
        };
      };
    };

    sops = {
      enable = mkEnableOption "declaring the Gmail password and SSH key as sops-nix secrets";
      sopsFile = mkNullOrOption types.path {
        example = literalExpression "./secrets/backup-server.yaml";
        description = ''
          The sops file holding the keys `gmail-password` (when email is on) and `ssh-key` (when
          SSH is used). sops-nix also needs a key to decrypt it: `sops.age.keyFile`,
          `sops.age.sshKeyPaths` or the SSH host keys of `services.openssh`.
        '';
      };
    };

    settings = mkOption {
      type = types.attrsOf types.anything;
      default = { };
      example = {
        stale_after_days = 5;
      };
      description = "Extra top-level keys of backup_config.yml, passed through (they win over the options).";
    };

    renderedConfig = mkOption {
      type = types.attrsOf types.anything;
      readOnly = true;
      internal = true;
      description = "The backup_config.yml the options render to (for tests).";
    };
  }
  # When the nightly run starts: schedule, randomizedDelaySec and persistent.
  // timer.options {
    default = "*-*-* 02:00:00";
    example = "daily";
    description = "When to run, as a systemd OnCalendar expression.";
    what = "Run";
  };

  config = mkMerge (
    [
    { services.backupServer.renderedConfig = rendered; }

    (mkIf cfg.enable {
      assertions = [
        {
          assertion = cfg.tasks != { };
          message = "services.backupServer.tasks must hold at least one task.";
        }
        {
          assertion = lib.hasPrefix "/" cfg.localDir;
          message = "services.backupServer.localDir must be an absolute path, not \"${cfg.localDir}\".";
        }
        {
          assertion = cfg.remoteDir == null || builtins.match locationPattern cfg.remoteDir != null;
          message = "services.backupServer.remoteDir must be an absolute path or user@host:/path, not \"${toString cfg.remoteDir}\".";
        }
        {
          assertion = targetLocations != [ ];
          message = "services.backupServer needs somewhere to mirror snapshots to: set remoteDir or targets.";
        }
        {
          assertion = !anySsh || cfg.ssh.keyFile != null;
          message = "services.backupServer uses SSH (remoteDir, a target or a task's source), so services.backupServer.ssh.keyFile must be set.";
        }
        {
          assertion = lib.hasPrefix "/" cfg.site.dir;
          message = "services.backupServer.site.dir must be an absolute path.";
        }
        {
          assertion = !cfg.sops.enable || options ? sops;
          message = "services.backupServer.sops.enable needs sops-nix's NixOS module (imports = [ sops-nix.nixosModules.sops ]).";
        }
        {
          assertion = !cfg.sops.enable || cfg.sops.sopsFile != null;
          message = "services.backupServer.sops.enable needs services.backupServer.sops.sopsFile.";
        }
        {
          assertion = !cfg.email.enable || (cfg.email.sender != null && cfg.email.to != null);
          message = "services.backupServer.email.enable needs services.backupServer.email.sender and email.to (or set email.enable = false).";
        }
        {
          assertion = !cfg.email.enable || cfg.email.passwordFile != null;
          message = "services.backupServer.email.enable needs services.backupServer.email.passwordFile (or sops.enable); without a password every run would end failed (exit 3). Set email.enable = false to run without reports.";
        }
      ]
      ++ lib.mapAttrsToList (name: task: {
        assertion = builtins.match taskNamePattern name != null;
        message = "services.backupServer.tasks.\"${name}\": a task name may hold only letters, digits, '.', '_' and '-', starting with a letter or digit.";
      }) cfg.tasks
      ++ lib.mapAttrsToList (name: task: {
        assertion = builtins.match locationPattern task.source != null;
        message = "services.backupServer.tasks.\"${name}\".source must be an absolute path or user@host:/path, not \"${task.source}\".";
      }) cfg.tasks
      ++ lib.mapAttrsToList (name: target: {
        assertion = builtins.match targetNamePattern name != null && name != "remote";
        message = "services.backupServer.targets.\"${name}\": a target name is up to 32 lowercase letters, digits and '-', and not \"remote\" (remoteDir's).";
      }) cfg.targets
      ++ lib.mapAttrsToList (name: target: {
        assertion = builtins.match locationPattern target.location != null;
        message = "services.backupServer.targets.\"${name}\".location must be an absolute path or user@host:/path, not \"${target.location}\".";
      }) cfg.targets
      ++ lib.mapAttrsToList (name: target: {
        assertion = !(target.requireMountpoint && isSsh target.location);
        message = "services.backupServer.targets.\"${name}\".requireMountpoint is for a target on a local path (a disk of this machine), not one over SSH (${target.location}).";
      }) cfg.targets
      ++ lib.mapAttrsToList (name: task: {
        assertion = task.targets == null || lib.all (t: t == "remote" && cfg.remoteDir != null || cfg.targets ? ${t}) task.targets;
        message = "services.backupServer.tasks.\"${name}\".targets names a target that is not defined: ${toString task.targets}.";
      }) cfg.tasks;

      environment.etc."backup-server/backup_config.yml".source = configJson;
      environment.systemPackages = [ cfg.package ];
      system.checks = optional cfg.enableConfigCheck configCheck;

      systemd.services.backup-server = {
        description = "backup-server: nightly snapshots, retention and sync";
        documentation = [ "file://${cfg.package}/share/doc/backup-server/README.md" ];
        wants = [ "network-online.target" ];
        after = [ "network-online.target" ];
        # See guardedDisks: set requireMountpoint, and a disk that fails to mount fails
        # its step instead of keeping the whole run from starting, unheard.
        unitConfig = {
          RequiresMountsFor = unguardedDisks;
          WantsMountsFor = guardedDisks;
        };
        # A rebuild never starts (or kills) a backup: the timer does.
        restartIfChanged = false;
        # Priorities, the state directory and the hardening it shares with the verify
        # unit (./hardening.nix), then what rsync running as root needs of its own.
        serviceConfig = import ./hardening.nix // {
          Type = "oneshot";
          ExecStart = lib.escapeShellArgs (optionals cfg.inhibitsSleep inhibitCommand ++ backupCommand);
          # Exit 75: another run holds the lock; not a failure of this one.
          SuccessExitStatus = [ 75 ];
          # Where the run's lock and logs go when the state directory cannot be written
          # (read-only, full): the backups are still taken, and the run says so. Under
          # ProtectSystem=strict nothing else under /run is writable.
          RuntimeDirectory = "backup-server";
          RuntimeDirectoryMode = "0700";
          # Every process of the unit, a hook's left-behind children included, is ended
          # with it (systemd's default, written out because a hook relies on it).
          KillMode = "control-group";
          LoadCredential =
            optional (cfg.email.enable && cfg.email.passwordFile != null) "gmail-password:${cfg.email.passwordFile}"
            ++ optional (cfg.ssh.keyFile != null) "ssh-key:${cfg.ssh.keyFile}";

          # "-": a backup disk that is missing must fail (and be recorded by) the run itself,
          # not the unit's namespace set-up. The site's parent is below.
          ReadWritePaths = map (p: "-${p}") (
            [ cfg.localDir ]
            ++ localTargets
            ++ optional cfg.site.enable siteParent
            ++ lib.concatMap (t: t.writablePaths) (lib.attrValues cfg.tasks)
          );
          # Not PrivateDevices: it takes CAP_MKNOD away, and a snapshot must hold the device
          # nodes a source has (a chroot's /dev). The device policy below still lets the run
          # read or write no device but the pseudo ones.
          PrivateDevices = false;
          # Not RestrictSUIDSGID: rsync must give back the setuid and setgid bits of what it
          # copies (the unit twin found every snapshot holding one failing without this).
          RestrictSUIDSGID = false;
          # What rsync as root needs to read everything and write it back with its owners,
          # modes (setuid and setgid included), times, device nodes, ACLs and xattrs (file
          # capabilities such as ping's need CAP_SETFCAP): nothing else.
          CapabilityBoundingSet = [
            "CAP_DAC_READ_SEARCH"
            "CAP_DAC_OVERRIDE"
            "CAP_CHOWN"
            "CAP_FOWNER"
            "CAP_FSETID"
            "CAP_MKNOD"
            "CAP_SETFCAP"
          ];
          # No device may be opened but /dev/null and the like; any may be created (m).
          DevicePolicy = "closed";
          DeviceAllow = [
            "char-* m"
            "block-* m"
          ];
        };
      };

      # The site's parent: world-readable for nginx, writable by the service for the
      # atomic swap of the site directory inside it.
      systemd.tmpfiles.rules = optional cfg.site.enable "d ${siteParent} 0755 root root -";

      systemd.timers.backup-server = timer.unit "Nightly backup-server run" cfg;

      services.nginx = mkIf (cfg.site.enable && cfg.site.nginx.enable) {
        enable = true;
        virtualHosts.${cfg.site.nginx.hostName} = {
          root = cfg.site.dir;
          basicAuthFile = cfg.site.nginx.basicAuthFile;
          extraConfig = ''
            index index.html;
            autoindex off;
          '';
          # The same server block as the demo's and the end-to-end test's (src/site/nginx.rs).
          locations = {
            "~ /\\.".return = "404";
            "/" = {
              tryFiles = "$uri $uri/ =404";
              extraConfig = ''add_header Cache-Control "no-cache" always;'';
            };
            "= /style.css".extraConfig = ''add_header Cache-Control "max-age=3600";'';
            "= /status.json".extraConfig = ''
              default_type application/json;
              add_header Cache-Control "no-cache" always;
            '';
            "= /metrics.prom".extraConfig = ''
              types { }
              default_type "text/plain; version=0.0.4; charset=utf-8";
              add_header Cache-Control "no-cache" always;
            '';
            "= /feed.atom".extraConfig = ''
              types { }
              default_type application/atom+xml;
              add_header Cache-Control "no-cache" always;
            '';
          };
        };
      };
    })

    (mkIf (cfg.enable && cfg.sops.enable) {
      services.backupServer.email.passwordFile = mkIf cfg.email.enable (lib.mkDefault "/run/secrets/backup-server/gmail-password");
      services.backupServer.ssh.keyFile = mkIf anySsh (lib.mkDefault "/run/secrets/backup-server/ssh-key");
    })
  ]
  # sops.* options exist only when sops-nix is imported: define them only then, so the
  # module evaluates without it.
  ++ optional (options ? sops) {
    sops = mkIf (cfg.enable && cfg.sops.enable) {
      secrets =
        optionalAttrs cfg.email.enable {
          "backup-server/gmail-password" = {
            inherit (cfg.sops) sopsFile;
            key = "gmail-password";
          };
        }
        // optionalAttrs anySsh {
        "backup-server/ssh-key" = {
          inherit (cfg.sops) sopsFile;
          key = "ssh-key";
        };
      };
    };
  });
}
