# services.backupServer evaluated as NixOS systems, one per scenario, with
# lib.nixosSystem: nixpkgs' own on a NixOS machine, the strict stand-in of tests/nix/stand-in
# here. Each scenario lists the assertions that must fail (none for a good configuration);
# `facts` are what the module must produce. Evaluating `summary` throws on the first
# scenario or fact that does not hold (the flake's checks.module-eval does).
{
  lib,
  module,
  sopsModule,
  system,
}:
let
  # What every configuration starts from; the Gmail password's file is base's, sops'
  # comes from the secrets the module declares.
  common = {
    services.backupServer = {
      enable = true;
      localDir = "/mnt/backup";
      remoteDir = "/mnt/offsite";
      tasks.home.source = "/home";
      email = {
        sender = "me@gmail.com";
        to = "me@gmail.com";
      };
    };
  };
  base = {
    imports = [ common ];
    services.backupServer.email.passwordFile = "/run/keys/gmail";
  };
  ssh = {
    services.backupServer = {
      remoteDir = lib.mkForce "backup@nas.lan:/srv/backup";
      ssh.keyFile = "/run/keys/ssh";
      ssh.knownHosts = "nas.lan ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFake";
      site.nginx.enable = true;
    };
  };
  sops = {
    imports = [
      sopsModule
      common
    ];
    sops.age.keyFile = "/var/lib/sops-nix/key.txt";
    services.backupServer = {
      remoteDir = lib.mkForce "backup@nas.lan:/srv/backup";
      sops = {
        enable = true;
        sopsFile = ../nixos/keys/secrets.yaml;
      };
    };
  };
  notify = {
    services.backupServer.notify = {
      healthchecks.urlFile = "/run/keys/hc";
      ntfy = {
        url = "https://ntfy.sh/nas-backups";
        tokenFile = "/run/keys/ntfy-token";
        on = [
          "failure"
          "recovery"
          "success"
        ];
        tags = [ "floppy_disk" ];
      };
      webhook = {
        urlFile = "/run/keys/hook";
        headersFile = "/run/keys/hook-headers";
      };
    };
  };
  # The other ways to give the channels: a secret ntfy topic URL, a webhook whose URL
  # is no secret, a CA of the house, a slower relay.
  notifyFiles = {
    services.backupServer = {
      smtp.timeoutSecs = 90;
      notify = {
        caFile = "/etc/ssl/home-ca.pem";
        ntfy.urlFile = "/run/keys/ntfy-url";
        webhook.url = "https://automation.lan/hooks/backup";
      };
    };
  };
  # Several targets, hooks, per-task options (issue 13).
  targets = {
    services.backupServer = {
      ssh.keyFile = "/run/keys/ssh";
      sync = {
        bwlimitKiB = 5000;
        compress = true;
      };
      targets = {
        usb = {
          location = "/mnt/usb";
          retention = {
            daily = 30;
            weekly = 8;
            yearly = 10;
          };
          requireMountpoint = true;
        };
        offsite = {
          location = "backup@offsite.lan:/srv/backup";
          retention.monthly = 36;
          bwlimitKiB = 2000;
          compress = false;
        };
      };
      tasks.db = {
        source = "/var/backup/db";
        before = "sqlite3 /var/lib/app/app.db '.backup /var/backup/db/app.db'";
        after = "rm -f /var/backup/db/app.db";
        hookTimeoutSec = 600;
        writablePaths = [ "/var/backup/db" ];
        oneFileSystem = true;
        targets = [ "usb" ];
      };
    };
  };
  userAdditions =
    { lib, ... }:
    {
      systemd.services.backup-server = {
        # A list directive defined again is concatenated with the module's [ 75 ].
        serviceConfig.SuccessExitStatus = [ 76 ];
        # An ordering of the user's own, beside the module's network-online.target.
        after = [ "postgresql.service" ];
        # A directive forced stricter: the verify unit, which shares the hardening, follows.
        serviceConfig.ProtectHome = lib.mkForce true;
        # A credential of the user's own, as a single string: merged into the module's
        # list, and the doctor's copy of the config still renders.
        serviceConfig.LoadCredential = "app-token:/run/keys/app-token";
      };
      # One of the verify unit's own directives, without mkForce.
      systemd.services.backup-server-verify.serviceConfig.Nice = 5;
    };
  emailOff = {
    services.backupServer.email = {
      enable = false;
      passwordFile = lib.mkForce null;
    };
  };

  evaluate =
    modules:
    (lib.nixosSystem {
      inherit system;
      modules = [ module ] ++ modules;
    }).config;

  # The README's minimal example, exactly as printed (tests/nix/readme-minimal.nix), with
  # every other option at its default.
  readmeMinimal =
    (lib.nixosSystem {
      inherit system;
      specialArgs.backup-server.nixosModules.default = module;
      modules = [ ./readme-minimal.nix ];
    }).config;

  # Every unit a system has, rendered by NixOS (its text forced): a unit that an option at
  # its default turns on is checked with no one listing it.
  unitTexts = config: lib.mapAttrs (_: u: u.text) config.systemd.units;

  failing = config: map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);

  # name = { modules; expect = substrings of the assertions that must fail ([] = none) }.
  # Most are the base configuration with a module (or a list of them) on top.
  onBase = modules: expect: {
    modules = [ base ] ++ lib.toList modules;
    inherit expect;
  };
  scenarios = {
    readme-minimal = {
      config = readmeMinimal;
      expect = [ ];
    };
    minimal = {
      modules = [ base ];
      expect = [ ];
    };
    # What a user's configuration plausibly adds on top of the module's units, merged as
    # NixOS merges it (facts.merged* check the units).
    user-additions = onBase userAdditions [ ];
    # The nightly unit's serviceConfig replaced whole: the verify unit would lose its
    # hardening, so the evaluation says so.
    nightly-replaced =
      onBase { systemd.services.backup-server.serviceConfig = lib.mkForce { Type = "oneshot"; }; }
        [ "backup-server-verify.service takes its hardening from" ];
    verify-off = onBase { services.backupServer.verify.enable = false; } [ ];
    # Snapshots as btrfs subvolumes: CAP_SYS_ADMIN for the nightly unit alone (facts.btrfs*).
    btrfs = onBase { services.backupServer.btrfs.enable = true; } [ ];
    ssh = onBase ssh [ ];
    sops = {
      # No passwordFile, no keyFile: the module points them at the secrets it declares.
      modules = [ sops ];
      expect = [ ];
    };
    sops-email-off = {
      modules = [
        sops
        { services.backupServer.email.enable = false; }
      ];
      expect = [ ];
    };
    sops-without-sops-nix = onBase { services.backupServer.sops.enable = true; } [
      "needs sops-nix's NixOS module"
      "needs services.backupServer.sops.sopsFile"
    ];
    notify = onBase [ ssh notify ] [ ];
    notify-files = onBase notifyFiles [ ];
    notify-mistakes = onBase
      {
        services.backupServer.notify = {
          ntfy.url = "https://ntfy.sh/nas";
          ntfy.urlFile = "/run/keys/ntfy-url";
          webhook.headersFile = "/run/keys/hook-headers";
        };
      }
      [
        "services.backupServer.notify.ntfy: set url or urlFile, not both."
        "services.backupServer.notify.webhook.headersFile needs notify.webhook.url or notify.webhook.urlFile."
      ];
    email-without-password =
      onBase { services.backupServer.email.passwordFile = lib.mkForce null; }
        [ "email.enable needs services.backupServer.email.passwordFile" ];
    email-off = onBase emailOff [ ];
    targets = onBase targets [ ];
    only-targets = onBase [
      targets
      { services.backupServer.remoteDir = lib.mkForce null; }
    ] [ ];
    nowhere-to-mirror =
      onBase { services.backupServer.remoteDir = lib.mkForce null; }
        [ "needs somewhere to mirror snapshots to" ];
    bad-targets = onBase
      {
        services.backupServer.targets.remote.location = "/mnt/usb";
        services.backupServer.targets.Big.location = "nope";
        services.backupServer.tasks.home.targets = [ "nowhere" ];
        services.backupServer.ssh.keyFile = "/run/keys/ssh";
        services.backupServer.targets.far = {
          location = "me@far.lan:/srv";
          requireMountpoint = true;
        };
      }
      [
        "targets.\"remote\": a target name is up to 32"
        "targets.\"Big\": a target name is up to 32"
        "targets.\"Big\".location must be an absolute path"
        "targets.\"far\".requireMountpoint is for a target on a local path"
        "tasks.\"home\".targets names a target that is not defined: nowhere"
      ];
    email-off-without-addresses = onBase [
      emailOff
      {
        services.backupServer.email.sender = lib.mkForce null;
        services.backupServer.email.to = lib.mkForce null;
      }
    ] [ ];
    email-without-addresses =
      onBase { services.backupServer.email.to = lib.mkForce null; }
        [ "email.enable needs services.backupServer.email.sender and email.to" ];
    site-off = onBase { services.backupServer.site.enable = false; } [ ];
    disabled = {
      modules = [ { services.backupServer.enable = false; } ];
      expect = [ ];
    };
    no-tasks = onBase { services.backupServer.tasks = lib.mkForce { }; } [ "must hold at least one task" ];
    relative-paths = onBase
      {
        services.backupServer.localDir = lib.mkForce "mnt/backup";
        services.backupServer.remoteDir = lib.mkForce "offsite";
        services.backupServer.site.dir = "site";
      }
      [
        "localDir must be an absolute path"
        "remoteDir must be an absolute path or user@host:/path"
        "site.dir must be an absolute path"
      ];
    ssh-without-key =
      onBase { services.backupServer.tasks.camera.source = "pi@camera.lan:/photos"; }
        [ "so services.backupServer.ssh.keyFile must be set" ];
    bad-task = onBase { services.backupServer.tasks."../etc".source = "relative"; } [
      "tasks.\"../etc\": a task name may hold only"
      "tasks.\"../etc\".source must be an absolute path"
    ];
  };

  check =
    name: scenario:
    let
      config = scenario.config or (evaluate scenario.modules);
      failed = failing config;
      missing = lib.filter (e: !lib.any (m: lib.hasInfix e m) failed) scenario.expect;
      unexpected = lib.filter (m: !lib.any (e: lib.hasInfix e m) scenario.expect) failed;
    in
    if missing != [ ] || unexpected != [ ] then
      throw "scenario ${name}: expected failing assertions ${builtins.toJSON scenario.expect}, got ${builtins.toJSON failed}"
    # A good configuration must also build: its system derivation instantiates, and every
    # unit it has renders.
    else if scenario.expect == [ ] && !(lib.isDerivation config.system.build.toplevel) then
      throw "scenario ${name}: no system"
    else if scenario.expect == [ ] then
      builtins.deepSeq (unitTexts config) "ok"
    else
      "ok";

  configOf = modules: (evaluate modules).services.backupServer.renderedConfig;

  # What the module must produce beyond its assertions; each a check that throws.
  facts =
    let
      sshConfig = evaluate scenarios.ssh.modules;
      sopsConfig = evaluate scenarios.sops.modules;
      notifyConfig = evaluate scenarios.notify.modules;
      notifyEmailOff = evaluate (scenarios.notify.modules ++ [ emailOff ]);
      minimalConfig = evaluate scenarios.minimal.modules;
      doctorCommand =
        config: lib.findFirst (p: p.name == "backup-server" && (p.meta.priority or 5) < 5) null config.environment.systemPackages;
      credential = name: "/run/credentials/backup-server.service/${name}";
      sopsEmailOff = evaluate scenarios.sops-email-off.modules;
      emailOffConfig = evaluate scenarios.email-off.modules;
      siteOff = evaluate scenarios.site-off.modules;
      targetsConfig = evaluate scenarios.targets.modules;
      disabled = evaluate scenarios.disabled.modules;
      noCheck = evaluate [
        base
        { services.backupServer.enableConfigCheck = false; }
      ];
      noInhibit = evaluate [
        base
        { services.backupServer.inhibitsSleep = false; }
      ];
      service = config: config.systemd.services.backup-server.serviceConfig;
      unitText = config: config.systemd.units."backup-server.service".text;
      expect =
        what: actual: wanted:
        if actual == wanted then
          "ok"
        else
          throw "${what}: expected ${builtins.toJSON wanted}, got ${builtins.toJSON actual}";
      package = sshConfig.services.backupServer.package;
    in
    {
      sopsSecrets = expect "sops-nix secrets" (lib.attrNames sopsConfig.sops.secrets) [
        "backup-server/gmail-password"
        "backup-server/ssh-key"
      ];
      sopsCredentials = expect "credentials from sops-nix" (service sopsConfig).LoadCredential [
        "gmail-password:/run/secrets/backup-server/gmail-password"
        "ssh-key:/run/secrets/backup-server/ssh-key"
      ];
      sopsEmailOff = expect "sops-nix secrets with email off" (lib.attrNames sopsEmailOff.sops.secrets) [
        "backup-server/ssh-key"
      ];
      sshCredentials = expect "credentials from paths" (service sshConfig).LoadCredential [
        "gmail-password:/run/keys/gmail"
        "ssh-key:/run/keys/ssh"
      ];
      emailOffCredentials = expect "no password with email off" (service emailOffConfig).LoadCredential [ ];
      emailOffArgument = expect "--no-email with email off" (lib.hasSuffix "--no-email run" (service emailOffConfig).ExecStart) true;
      emailOnArgument = expect "no --no-email with email on" (lib.hasInfix "--no-email" (service sshConfig).ExecStart) false;
      sshKeyInConfig = expect "ssh_key in the config" sshConfig.services.backupServer.renderedConfig.ssh_key "/run/credentials/backup-server.service/ssh-key";
      nginxRoot = expect "nginx root" sshConfig.services.nginx.virtualHosts."backup.localhost".root "/var/lib/backup-server-site/html";
      siteDirArgument = expect "--site-dir when the site is on" (lib.hasInfix "--site-dir /var/lib/backup-server-site/html" (service sshConfig).ExecStart) true;
      siteOffArgument = expect "no --site-dir when the site is off" (lib.hasInfix "--site-dir" (service siteOff).ExecStart) false;
      siteOffNginx = expect "no nginx when the site is off" siteOff.services.nginx.enable false;
      statePrivate = expect "state directory mode" (service sshConfig).StateDirectoryMode "0700";
      timer = expect "timer" sshConfig.systemd.timers.backup-server.timerConfig {
        OnCalendar = "*-*-* 02:00:00";
        Persistent = true;
        RandomizedDelaySec = "30m";
      };
      noRestartOnSwitch = expect "X-RestartIfChanged=false in the unit" (lib.hasInfix "\nX-RestartIfChanged=false\n" (unitText sshConfig)) true;
      inhibitor = expect "the run holds a sleep inhibitor" (lib.hasPrefix "${sshConfig.systemd.package}/bin/systemd-inhibit '--mode=block' '--what=sleep' " (service sshConfig).ExecStart) true;
      noInhibitor = expect "no inhibitor when inhibitsSleep is off" (lib.hasPrefix "${package}/bin/backup-server " (service noInhibit).ExecStart) true;
      configCheck = expect "check-config runs when the system is built" (map (d: d.name) sshConfig.system.checks) [ "backup-server-check-config" ];
      configCheckOff = expect "no check with enableConfigCheck off" noCheck.system.checks [ ];
      disabledServices = expect "services when disabled" (disabled.systemd.services ? backup-server) false;
      notifyCredentials = expect "notify's secrets as credentials" (lib.sort lib.lessThan (service notifyConfig).LoadCredential) [
        "gmail-password:/run/keys/gmail"
        "healthchecks-url:/run/keys/hc"
        "ntfy-token:/run/keys/ntfy-token"
        "ssh-key:/run/keys/ssh"
        "webhook-headers:/run/keys/hook-headers"
        "webhook-url:/run/keys/hook"
      ];
      notifyRendered = expect "the notify part of the config" notifyConfig.services.backupServer.renderedConfig.notify {
        timeout_secs = 10;
        healthchecks.url_file = credential "healthchecks-url";
        ntfy = {
          url = "https://ntfy.sh/nas-backups";
          token_file = credential "ntfy-token";
          on = [
            "failure"
            "recovery"
            "success"
          ];
          priority = "high";
          tags = [ "floppy_disk" ];
        };
        webhook = {
          url_file = credential "webhook-url";
          headers_file = credential "webhook-headers";
        };
      };
      noNotify = expect "no notify part without a channel" (minimalConfig.services.backupServer.renderedConfig ? notify) false;
      doctorConfig = expect "the doctor's config reads the secrets where they are kept" (
        let
          c = notifyConfig.services.backupServer.doctor.renderedConfig;
        in
        {
          inherit (c) ssh_key;
          hc = c.notify.healthchecks.url_file;
          token = c.notify.ntfy.token_file;
          headers = c.notify.webhook.headers_file;
          credentials = lib.hasInfix "/run/credentials/" (builtins.toJSON c);
        }
      ) {
        ssh_key = "/run/keys/ssh";
        hc = "/run/keys/hc";
        token = "/run/keys/ntfy-token";
        headers = "/run/keys/hook-headers";
        credentials = false;
      };
      doctorInstalled = expect "`backup-server doctor` is installed ahead of the package" (
        let
          command = doctorCommand notifyConfig;
        in
        command != null && command == notifyConfig.services.backupServer.doctor.command
      ) true;
      doctorArguments = expect "the doctor runs on its config with the password's file" (
        let
          doctor = notifyConfig.services.backupServer.doctor;
          bin = "${notifyConfig.services.backupServer.package}/bin/backup-server";
          args = lib.escapeShellArgs [
            "--config"
            "${doctor.configFile}"
            "--state-dir"
            "/var/lib/backup-server"
            "--password-file"
            "/run/keys/gmail"
          ];
        in
        # Compared as plain text: a regex may not hold store paths.
        map (s: lib.hasInfix (builtins.unsafeDiscardStringContext s) (builtins.unsafeDiscardStringContext (doctorCommand notifyConfig).text)) [
          "if [ \"\${1-}\" = doctor ]; then\n  shift\n  exec ${bin} ${args} doctor \"$@\"\nfi\n"
          # list, restore and verify by hand reach the targets with the service's key.
          "list | restore | verify) exec ${bin} ${args} \"$@\" ;;\n"
          "exec ${bin} \"$@\""
        ]
      ) [
        true
        true
        true
      ];
      doctorEmailOff = expect "the doctor checks no login with email off" (lib.hasInfix "${lib.escapeShellArg "--no-email"} doctor" (doctorCommand notifyEmailOff).text) true;
      configFile = expect "the config file is the rendered one" sshConfig.environment.etc."backup-server/backup_config.yml".source.name "backup_config.yml";
      emailOffRendered = expect "email off renders email_when: never" emailOffConfig.services.backupServer.renderedConfig.email_when "never";
      emailWhenRendered = expect "email.when and the summary day in the config" {
        inherit (sshConfig.services.backupServer.renderedConfig) email_when summary_weekday disk;
      } {
        email_when = "always";
        summary_weekday = "monday";
        disk = {
          min_free_percent = 10;
          full_within_days = 30;
        };
      };
      siteUrlFromNginx = expect "site_url from the nginx host" sshConfig.services.backupServer.renderedConfig.site_url "http://backup.localhost/";
      renderedTargets = expect "targets in the config" targetsConfig.services.backupServer.renderedConfig.targets [
        {
          name = "offsite";
          location = "backup@offsite.lan:/srv/backup";
          retention.monthly = 36;
          bwlimit_kib = 2000;
          compress = false;
        }
        {
          name = "usb";
          location = "/mnt/usb";
          retention = {
            daily = 30;
            weekly = 8;
            yearly = 10;
          };
          require_mountpoint = true;
        }
      ];
      renderedHooks = expect "a task's hooks and options in the config" (lib.removeAttrs (lib.head targetsConfig.services.backupServer.renderedConfig.tasks) [ "excludes" ]) {
        name = "db";
        dir_source = "/var/backup/db";
        before = "sqlite3 /var/lib/app/app.db '.backup /var/backup/db/app.db'";
        after = "rm -f /var/backup/db/app.db";
        hook_timeout_secs = 600;
        one_file_system = true;
        targets = [ "usb" ];
      };
      targetPaths = expect "local targets and hooks' paths writable; the mounts of disks the run checks wanted, the others required" {
        inherit ((service targetsConfig)) ReadWritePaths;
        inherit (targetsConfig.systemd.services.backup-server.unitConfig) RequiresMountsFor WantsMountsFor;
      } {
        ReadWritePaths = [ "-/mnt/backup" "-/mnt/offsite" "-/mnt/usb" "-/var/lib/backup-server-site" "-/var/backup/db" ];
        RequiresMountsFor = [ "/mnt/backup" "/mnt/offsite" ];
        WantsMountsFor = [ "/mnt/usb" ];
      };
      verifyUnit =
        let
          verify = sshConfig.systemd.services.backup-server-verify.serviceConfig;
        in
        expect "backup-server-verify.service: its command, its own credential, read-only backups, the nightly hardening" {
          inherit (verify) ExecStart LoadCredential ReadWritePaths CapabilityBoundingSet SuccessExitStatus;
          sameHardening = lib.all (k: verify.${k} == (service sshConfig).${k}) [
            "ProtectSystem"
            "ProtectHome"
            "SystemCallFilter"
            "RestrictAddressFamilies"
            "StateDirectory"
            "NoNewPrivileges"
          ];
        } {
          ExecStart = "${package}/bin/backup-server --config /etc/backup-server/backup_config.yml --site-dir /var/lib/backup-server-site/html verify --ssh-key %d/ssh-key";
          LoadCredential = [ "ssh-key:/run/keys/ssh" ];
          ReadWritePaths = [ "-/var/lib/backup-server-site" ];
          CapabilityBoundingSet = [ "CAP_DAC_READ_SEARCH" ];
          SuccessExitStatus = [ 75 ];
          sameHardening = true;
        };
      readmeUnits =
        expect "the units of the README's minimal example, every option at its default"
          (lib.filter (lib.hasPrefix "backup-server") (lib.attrNames readmeMinimal.systemd.units))
          [
            "backup-server-verify.service"
            "backup-server-verify.timer"
            "backup-server.service"
            "backup-server.timer"
          ];
      merged =
        let
          added = evaluate scenarios.user-additions.modules;
          lines = name: lib.splitString "\n" added.systemd.units.${name}.text;
          has = name: line: lib.elem line (lines name);
          # A directive's values, in the order they were defined (the user's module or ours
          # first, as the module system orders them), sorted.
          values =
            name: key:
            lib.sort lib.lessThan (
              lib.concatMap (l: lib.splitString " " (lib.removePrefix "${key}=" l)) (
                lib.filter (lib.hasPrefix "${key}=") (lines name)
              )
            );
        in
        expect "the user's additions, merged as NixOS merges them"
          {
            successExit = values "backup-server.service" "SuccessExitStatus";
            after = values "backup-server.service" "After";
            protectHome = has "backup-server.service" "ProtectHome=true";
            verifyFollows = has "backup-server-verify.service" "ProtectHome=true";
            verifyAfter = has "backup-server-verify.service" "After=network-online.target backup-server.service";
            verifyNice = has "backup-server-verify.service" "Nice=5";
            credentials = values "backup-server.service" "LoadCredential";
            # The doctor's copy of the config still renders with the user's credential.
            doctorRenders = builtins.deepSeq added.services.backupServer.doctor.renderedConfig true;
          }
          {
            successExit = [
              "75"
              "76"
            ];
            after = [
              "network-online.target"
              "postgresql.service"
            ];
            protectHome = true;
            verifyFollows = true;
            verifyAfter = true;
            verifyNice = true;
            credentials = [
              "app-token:/run/keys/app-token"
              "gmail-password:/run/keys/gmail"
            ];
            doctorRenders = true;
          };
      siteOffUnits =
        expect "no unit names the site when it is off"
          (lib.filter (n: lib.hasInfix "backup-server-site" siteOff.systemd.units.${n}.text) (
            lib.attrNames siteOff.systemd.units
          ))
          [ ];
      verifyTimer = expect "verify weekly by default" sshConfig.systemd.timers.backup-server-verify.timerConfig {
        OnCalendar = "Sun *-*-* 05:00:00";
        Persistent = true;
        RandomizedDelaySec = "30m";
      };
      verifySample =
        let
          sampled = evaluate [
            base
            { services.backupServer.verify.samplePercent = 10; }
          ];
        in
        expect "verify --sample" (lib.hasSuffix "verify --sample 10" sampled.systemd.services.backup-server-verify.serviceConfig.ExecStart) true;
      btrfsCapability =
        let
          on = evaluate scenarios.btrfs.modules;
        in
        expect "btrfs.enable adds CAP_SYS_ADMIN to the nightly unit's bounding set, and btrfs to its PATH" {
          nightly = (service on).CapabilityBoundingSet;
          verify = on.systemd.services.backup-server-verify.serviceConfig.CapabilityBoundingSet;
          # What it adds to the unit's path (NixOS puts coreutils and the like on every one).
          path = lib.subtractLists (map (p: p.name) minimalConfig.systemd.services.backup-server.path) (
            map (p: p.name) on.systemd.services.backup-server.path
          );
        } {
          nightly = (service minimalConfig).CapabilityBoundingSet ++ [ "CAP_SYS_ADMIN" ];
          verify = [ "CAP_DAC_READ_SEARCH" ];
          path = [ "btrfs-progs-6.14" ];
        };
      # Only there: no other unit of the system holds it, and with the option off none does.
      btrfsOnlyThere =
        let
          holding = config: lib.filter (n: lib.hasInfix "CAP_SYS_ADMIN" config.systemd.units.${n}.text) (lib.attrNames config.systemd.units);
        in
        expect "the units whose text names CAP_SYS_ADMIN, with btrfs.enable on and off" {
          on = holding (evaluate scenarios.btrfs.modules);
          off = holding minimalConfig;
        } {
          on = [ "backup-server.service" ];
          off = [ ];
        };
      # The unit twin boots the option-off unit on btrfs and expects EPERM: the two texts
      # differ in these lines alone.
      btrfsUnitDiff =
        let
          lines = config: lib.splitString "\n" (unitText config);
          on = lines (evaluate scenarios.btrfs.modules);
          off = lines minimalConfig;
          directive = l: lib.head (lib.splitString "=" l);
        in
        # NixOS writes a list one line an item: the option adds one line and changes PATH.
        expect "the lines btrfs.enable changes in backup-server.service" {
          added = lib.sort lib.lessThan (map (l: if lib.hasPrefix "Environment=" l then directive l else l) (lib.subtractLists off on));
          removed = map directive (lib.subtractLists on off);
        } {
          added = [ "CapabilityBoundingSet=CAP_SYS_ADMIN" "Environment" ];
          removed = [ "Environment" ];
        };
      verifyOff =
        let
          off = evaluate scenarios.verify-off.modules;
        in
        expect "no verify unit or timer when off" {
          service = off.systemd.services ? backup-server-verify;
          timer = off.systemd.timers ? backup-server-verify;
          units = lib.filter (lib.hasPrefix "backup-server") (lib.attrNames off.systemd.units);
        } {
          service = false;
          timer = false;
          units = [
            "backup-server.service"
            "backup-server.timer"
          ];
        };
    };
in
{
  summary = lib.mapAttrs check scenarios // {
    inherit facts;
  };

  # Rendered configs, for `backup-server check-config` (tests/nix/run).
  configs = lib.mapAttrs (_: s: configOf s.modules) {
    inherit (scenarios)
      minimal
      ssh
      sops
      email-off
      email-off-without-addresses
      btrfs
      targets
      only-targets
      notify
      notify-files
      ;
  }
  // {
    notify-doctor = (evaluate scenarios.notify.modules).services.backupServer.doctor.renderedConfig;
  };
}
