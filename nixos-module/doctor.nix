# `sudo backup-server doctor`, with the service's own secrets.
#
# backup_config.yml names each secret by its systemd credential,
# /run/credentials/backup-server.service/NAME, which exists only while the service runs
# (a transient unit, as systemd-run makes, would get a directory of its own name). So the
# module installs a `backup-server` command (ahead of the package's) that runs
# `backup-server doctor` on a copy of the rendered config in which each credential path
# is the file LoadCredential loads it from (every LoadCredential entry of the unit, so a
# credential added later is covered too), with the Gmail password's file, as root: the
# same secrets the service gets, read where they are kept. `list`, `restore` and `verify`
# typed by hand get the same config, so they reach the targets with the service's SSH
# key. Every other command goes to the package's binary unchanged. The copy holds paths
# only, no secret, so it may live in the store.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.backupServer;
  credentials = "/run/credentials/backup-server.service";
  # As NixOS merges it: a list when any definition is one, else a single value (null
  # when a user forced it away, rendered `LoadCredential=`).
  entries = lib.filter (e: e != null && e != "") (
    lib.toList (config.systemd.services.backup-server.serviceConfig.LoadCredential or [ ])
  );
  # ID:PATH; an ID alone (systemd then reads it from its credstore) has no file here.
  parse =
    entry:
    let
      m = builtins.match "([^:]+):(.*)" entry;
    in
    if m == null then
      null
    else
      {
        name = builtins.elemAt m 0;
        source = builtins.elemAt m 1;
      };
  loaded = lib.filter (c: c != null) (map parse entries);
  # Each value that is a credential's path becomes its source's, wherever it is.
  sources = builtins.listToAttrs (
    map (c: {
      name = "${credentials}/${c.name}";
      value = c.source;
    }) loaded
  );
  fromSources =
    v:
    if builtins.isString v then
      # (a store path, such as the known_hosts file's, is never a credential's)
      sources.${builtins.unsafeDiscardStringContext v} or v
    else if builtins.isAttrs v then
      builtins.mapAttrs (_: fromSources) v
    else if builtins.isList v then
      map fromSources v
    else
      v;
  doctorRendered = fromSources cfg.renderedConfig;
  doctorJson = builtins.toJSON doctorRendered;
  doctorConfig = pkgs.writeText "backup_config-doctor.json" doctorJson;
  password = lib.findFirst (c: c.name == "gmail-password") null loaded;
  doctorArgs = [
    "--config"
    "${doctorConfig}"
    "--state-dir"
    "/var/lib/backup-server"
  ]
  ++ (
    if !cfg.email.enable then
      [ "--no-email" ]
    else
      lib.optionals (password != null) [
        "--password-file"
        password.source
      ]
  );
  wrapper = pkgs.writeShellScriptBin "backup-server" ''
    # `backup-server doctor` with the service's secrets (nixos-module/doctor.nix).
    if [ "''${1-}" = doctor ]; then
      shift
      exec ${cfg.package}/bin/backup-server ${lib.escapeShellArgs doctorArgs} doctor "$@"
    fi
    # So do list, restore and verify typed by hand: they reach the targets with its SSH key.
    case "''${1-}" in
    list | restore | verify) exec ${cfg.package}/bin/backup-server ${lib.escapeShellArgs doctorArgs} "$@" ;;
    esac
    exec ${cfg.package}/bin/backup-server "$@"
  '';
in
{
  options.services.backupServer.doctor = {
    renderedConfig = lib.mkOption {
      type = lib.types.attrsOf lib.types.anything;
      readOnly = true;
      internal = true;
      description = "The config `backup-server doctor` reads: the rendered one, each credential path replaced by the file it is loaded from (for tests).";
    };
    configFile = lib.mkOption {
      type = lib.types.package;
      readOnly = true;
      internal = true;
      description = "The file of {option}`services.backupServer.doctor.renderedConfig`.";
    };
    command = lib.mkOption {
      type = lib.types.package;
      readOnly = true;
      internal = true;
      description = "The `backup-server` command installed ahead of the package's: `backup-server doctor` with the service's secrets.";
    };
  };

  config = lib.mkIf cfg.enable {
    services.backupServer.doctor = {
      renderedConfig = doctorRendered;
      configFile = doctorConfig;
      command = wrapper;
    };
    environment.systemPackages = [ (lib.hiPrio wrapper) ];
  };
}
