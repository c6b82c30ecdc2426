# Evaluates services.backupServer with nixpkgs' lib, without nixpkgs or a Nix store:
# the NixOS options the module sets are declared here (freeform, so any value the
# module writes is kept), and pkgs is a stand-in whose builders return store-like paths.
#
# nix-instantiate --eval --strict --json --arg lib 'import <nixpkgs lib>' tests/nix/eval.nix -A summary
# fails (throws) when a scenario's assertions are not the expected ones.
{ lib }:
let
  fakeStore = name: "/nix/store/00000000000000000000000000000000-${name}";
  pkgs = {
    writeText = name: _text: fakeStore name;
    runCommand = name: _env: _script: fakeStore name;
    callPackage = _fn: _args: fakeStore "backup-server";
  };
  freeform = lib.types.submodule { freeformType = lib.types.attrsOf lib.types.anything; };
  nixosOptions = {
    options = {
      assertions = lib.mkOption {
        type = lib.types.listOf lib.types.unspecified;
        default = [ ];
      };
      warnings = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ ];
      };
      environment.etc = lib.mkOption {
        type = lib.types.attrsOf freeform;
        default = { };
      };
      environment.systemPackages = lib.mkOption {
        type = lib.types.listOf lib.types.unspecified;
        default = [ ];
      };
      systemd.services = lib.mkOption {
        type = lib.types.attrsOf freeform;
        default = { };
      };
      systemd.timers = lib.mkOption {
        type = lib.types.attrsOf freeform;
        default = { };
      };
      systemd.tmpfiles.rules = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ ];
      };
      services.nginx = lib.mkOption {
        type = freeform;
        default = { };
      };
    };
  };
  # What sops-nix declares, as far as the module uses it.
  sopsOptions = {
    options.sops.secrets = lib.mkOption {
      type = lib.types.attrsOf freeform;
      default = { };
    };
  };

  base = {
    services.backupServer = {
      enable = true;
      localDir = "/mnt/backup";
      remoteDir = "/mnt/offsite";
      tasks.home.source = "/home";
      email = {
        sender = "me@gmail.com";
        to = "me@gmail.com";
        passwordFile = "/run/keys/gmail";
      };
    };
  };
  ssh = {
    services.backupServer = {
      remoteDir = lib.mkForce "backup@nas.lan:/srv/backup";
      ssh.keyFile = "/run/keys/ssh";
      ssh.knownHosts = "nas.lan ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFake";
      site.nginx.enable = true;
    };
  };

  evaluate =
    modules:
    (lib.evalModules {
      modules = [
        nixosOptions
        ../../nixos-module
        { _module.args.pkgs = pkgs; }
      ]
      ++ modules;
    }).config;

  failing = config: map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);

  # name = { modules; expect = substrings of the assertions that must fail ([] = none) }.
  scenarios = {
    minimal = {
      modules = [ base ];
      expect = [ ];
    };
    ssh = {
      modules = [
        base
        ssh
      ];
      expect = [ ];
    };
    sops = {
      # No passwordFile, no keyFile: the module points them at the secrets it declares.
      modules = [
        sopsOptions
        {
          services.backupServer = {
            enable = true;
            localDir = "/mnt/backup";
            remoteDir = "backup@nas.lan:/srv/backup";
            tasks.home.source = "/home";
            email = {
              sender = "me@gmail.com";
              to = "me@gmail.com";
            };
            sops = {
              enable = true;
              sopsFile = ./samples/minimal.nix;
            };
          };
        }
      ];
      expect = [ ];
    };
    sops-without-sops-nix = {
      modules = [
        base
        { services.backupServer.sops.enable = true; }
      ];
      expect = [
        "needs sops-nix's NixOS module"
        "needs services.backupServer.sops.sopsFile"
      ];
    };
    site-off = {
      modules = [
        base
        { services.backupServer.site.enable = false; }
      ];
      expect = [ ];
    };
    disabled = {
      modules = [ { services.backupServer.enable = false; } ];
      expect = [ ];
    };
    no-tasks = {
      modules = [
        base
        { services.backupServer.tasks = lib.mkForce { }; }
      ];
      expect = [ "must hold at least one task" ];
    };
    relative-paths = {
      modules = [
        base
        {
          services.backupServer.localDir = lib.mkForce "mnt/backup";
          services.backupServer.remoteDir = lib.mkForce "offsite";
          services.backupServer.site.dir = "site";
        }
      ];
      expect = [
        "localDir must be an absolute path"
        "remoteDir must be an absolute path or user@host:/path"
        "site.dir must be an absolute path"
      ];
    };
    ssh-without-key = {
      modules = [
        base
        { services.backupServer.tasks.camera.source = "pi@camera.lan:/photos"; }
      ];
      expect = [ "so services.backupServer.ssh.keyFile must be set" ];
    };
    bad-task = {
      modules = [
        base
        { services.backupServer.tasks."../etc".source = "relative"; }
      ];
      expect = [
        "tasks.\"../etc\": a task name may hold only"
        "tasks.\"../etc\".source must be an absolute path"
      ];
    };
  };

  check =
    name: scenario:
    let
      config = evaluate scenario.modules;
      failed = failing config;
      missing = lib.filter (e: !lib.any (m: lib.hasInfix e m) failed) scenario.expect;
      unexpected = lib.filter (m: !lib.any (e: lib.hasInfix e m) scenario.expect) failed;
    in
    if missing != [ ] || unexpected != [ ] then
      throw "scenario ${name}: expected failing assertions ${builtins.toJSON scenario.expect}, got ${builtins.toJSON failed}"
    else
      "ok";

  configOf = modules: (evaluate modules).services.backupServer.renderedConfig;
  serviceOf = modules: (evaluate modules).systemd.services.backup-server;

  # The unit file systemd would get (the parts systemd-analyze security reads).
  unitFile =
    service:
    let
      value = v: if builtins.isBool v then (if v then "yes" else "no") else toString v;
      lines =
        section: attrs:
        [ "[${section}]" ]
        ++ lib.concatLists (
          lib.mapAttrsToList (
            key: v: if builtins.isList v then map (x: "${key}=${value x}") v else [ "${key}=${value v}" ]
          ) attrs
        );
    in
    lib.concatStringsSep "\n" (
      lines "Unit" ({ Description = service.description; } // service.unitConfig)
      ++ lines "Service" service.serviceConfig
    )
    + "\n";
in
rec {
  summary = lib.mapAttrs check scenarios // {
    inherit facts;
  };

  # Rendered configs, for `backup-server check-config`.
  configs = {
    minimal = configOf [ base ];
    ssh = configOf [
      base
      ssh
    ];
    sops = configOf scenarios.sops.modules;
  };

  unit = unitFile (serviceOf [
    base
    ssh
  ]);

  # What the module must produce beyond its assertions; each a check that throws.
  facts =
    let
      sshConfig = evaluate scenarios.ssh.modules;
      sops = evaluate scenarios.sops.modules;
      siteOff = evaluate scenarios.site-off.modules;
      disabled = evaluate scenarios.disabled.modules;
      service = config: config.systemd.services.backup-server.serviceConfig;
      expect =
        what: actual: wanted:
        if actual == wanted then
          "ok"
        else
          throw "${what}: expected ${builtins.toJSON wanted}, got ${builtins.toJSON actual}";
    in
    {
      sopsSecrets = expect "sops-nix secrets" (lib.attrNames sops.sops.secrets) [
        "backup-server/gmail-password"
        "backup-server/ssh-key"
      ];
      sopsCredentials = expect "credentials from sops-nix" (service sops).LoadCredential [
        "gmail-password:/run/secrets/backup-server/gmail-password"
        "ssh-key:/run/secrets/backup-server/ssh-key"
      ];
      sshCredentials = expect "credentials from paths" (service sshConfig).LoadCredential [
        "gmail-password:/run/keys/gmail"
        "ssh-key:/run/keys/ssh"
      ];
      sshKeyInConfig = expect "ssh_key in the config" sshConfig.services.backupServer.renderedConfig.ssh_key "/run/credentials/backup-server.service/ssh-key";
      nginxRoot = expect "nginx root" sshConfig.services.nginx.virtualHosts."backup.localhost".root "/var/lib/backup-server-site/html";
      siteDirArgument = expect "--site-dir when the site is on" (lib.hasInfix "--site-dir /var/lib/backup-server-site/html" (service sshConfig).ExecStart) true;
      siteOffArgument = expect "no --site-dir when the site is off" (lib.hasInfix "--site-dir" (service siteOff).ExecStart) false;
      siteOffNginx = expect "no nginx when the site is off" (siteOff.services.nginx.enable or false) false;
      statePrivate = expect "state directory mode" (service sshConfig).StateDirectoryMode "0700";
      timer = expect "timer" sshConfig.systemd.timers.backup-server.timerConfig {
        OnCalendar = "*-*-* 02:00:00";
        Persistent = true;
        RandomizedDelaySec = "30m";
      };
      disabledServices = expect "services when disabled" (lib.attrNames disabled.systemd.services) [ ];
      validatedConfig = expect "the config file is the validated one" sshConfig.environment.etc."backup-server/backup_config.yml".source "/nix/store/00000000000000000000000000000000-backup_config.yml";
    };
}
