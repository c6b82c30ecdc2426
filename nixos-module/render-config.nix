# The backup_config.yml that services.backupServer writes, as a pure function of the
# module's options. Builtins only, so CI can evaluate it with plain nix-instantiate
# and feed the result to `backup-server check-config`.
#
# cfg: the services.backupServer option values, with the module's paths already
# resolved to strings:
#   { localDir, remoteDir, requireMountpoint, tasks, targets, sync, retention, email,
#     smtp, staleAfterDays, settings, sshKeyPath, knownHostsPath, sshConfigPath, schedule }
#   schedule (the timer's OnCalendar) is optional: the pages say when it next fires.
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
  optional = key: value: if value == null then { } else { ${key} = value; };
  # Only the keys that are set: the others keep the task's value.
  changes = r: builtins.foldl' (acc: k: acc // optional k (r.${k} or null)) { } [ "daily" "weekly" "monthly" "yearly" ];
  task =
    name: t:
    {
      inherit name;
      dir_source = t.source;
      excludes = t.excludes;
    }
    // (if t.retention == null then { } else { retention = retention t.retention; })
    // optional "before" (t.before or null)
    // optional "after" (t.after or null)
    // optional "hook_timeout_secs" (t.hookTimeoutSec or null)
    // (if t.oneFileSystem or false then { one_file_system = true; } else { })
    // optional "targets" (t.targets or null);
  target =
    name: t:
    {
      inherit name;
      inherit (t) location;
      retention = changes t.retention;
    }
    // optional "bwlimit_kib" (t.bwlimitKiB or null)
    // optional "compress" (t.compress or null)
    // (if t.requireMountpoint or false then { require_mountpoint = true; } else { });
  targets = cfg.targets or { };
  sync = (optional "bwlimit_kib" (cfg.sync.bwlimitKiB or null)) // (optional "compress" (cfg.sync.compress or null));
in
{
  dir_backup_local = cfg.localDir;
  require_mountpoint = cfg.requireMountpoint;
  tasks = map (name: task name cfg.tasks.${name}) (builtins.attrNames cfg.tasks);
  retention = retention cfg.retention;
  stale_after_days = cfg.staleAfterDays;
  smtp = {
    inherit (cfg.smtp) host port;
  }
  // optional "ca_file" cfg.smtp.caFile
  // optional "timeout_secs" (cfg.smtp.timeoutSecs or null);
}
// optional "dir_backup_remote" cfg.remoteDir
// optional "email_sender" (cfg.email.sender or null)
// optional "email_report" (cfg.email.to or null)
// (
  if !(cfg.email.enable or true) then
    { email_when = "never"; }
  else
    {
      email_when = cfg.email.when or "always";
      summary_weekday = cfg.email.summaryWeekday or "monday";
    }
)
// optional "site_url" (cfg.siteUrl or null)
// optional "schedule" (cfg.schedule or null)
// (
  if cfg ? disk then
    {
      disk = {
        min_free_percent = cfg.disk.minFreePercent;
        full_within_days = cfg.disk.fullWithinDays;
      };
    }
  else
    { }
)
// (if targets == { } then { } else { targets = map (name: target name targets.${name}) (builtins.attrNames targets); })
// (if sync == { } then { } else { inherit sync; })
// optional "email_admin" cfg.email.admin
// optional "ssh_key" cfg.sshKeyPath
// optional "ssh_known_hosts" cfg.knownHostsPath
// optional "ssh_config" cfg.sshConfigPath
// cfg.settings
