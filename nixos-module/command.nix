# How the module's units start backup-server (the nightly run and the verify): the
# package's binary on the rendered /etc/backup-server/backup_config.yml, with the pages'
# directory when the site is on. Each unit adds its own options and command.
{ lib }:
cfg:
[
  "${cfg.package}/bin/backup-server"
  "--config"
  "/etc/backup-server/backup_config.yml"
]
++ lib.optionals cfg.site.enable [
  "--site-dir"
  cfg.site.dir
]
