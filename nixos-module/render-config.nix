# The backup_config.yml that services.backupServer writes, as a pure function of the
# module's options. Builtins only, so CI can evaluate it with plain nix-instantiate
# and feed the result to `backup-server check-config`.
#
# cfg: the services.backupServer option values, with the module's paths already
# resolved to strings:
#   { localDir, remoteDir, requireMountpoint, tasks, retention, email, smtp,
#     staleAfterDays, settings, sshKeyPath, knownHostsPath, sshConfigPath }
cfg:
let
  retention = r: {
    inherit (r)
      daily
      weekly
      monthly
      yearly
      ;
  };
  task =
    name: t:
    {
      inherit name;
      dir_source = t.source;
      excludes = t.excludes;
    }
    // (if t.retention == null then { } else { retention = retention t.retention; });
  optional = key: value: if value == null then { } else { ${key} = value; };
in
{
  dir_backup_local = cfg.localDir;
  dir_backup_remote = cfg.remoteDir;
  require_mountpoint = cfg.requireMountpoint;
  email_sender = cfg.email.sender;
  email_report = cfg.email.to;
  tasks = map (name: task name cfg.tasks.${name}) (builtins.attrNames cfg.tasks);
  retention = retention cfg.retention;
  stale_after_days = cfg.staleAfterDays;
  smtp = {
    inherit (cfg.smtp) host port;
  }
  // optional "ca_file" cfg.smtp.caFile;
}
// optional "email_admin" cfg.email.admin
// optional "ssh_key" cfg.sshKeyPath
// optional "ssh_known_hosts" cfg.knownHostsPath
// optional "ssh_config" cfg.sshConfigPath
// cfg.settings
