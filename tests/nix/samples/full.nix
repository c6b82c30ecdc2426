# Everything set: an SSH target with pinned host keys, a remote source, per-task
# retention, an admin on failure, a self-hosted relay, freeform settings.
{
  localDir = "/mnt/backup/local";
  remoteDir = "backup@nas.lan:/srv/backup";
  requireMountpoint = true;
  tasks = {
    ServerData = {
      source = "/srv/data";
      excludes = [
        "*.tmp"
        "cache/"
      ];
      retention = null;
    };
    Photos = {
      source = "pi@camera.lan:/photos";
      excludes = [ ];
      retention = {
        daily = 3;
        weekly = 8;
        monthly = 24;
        yearly = 10;
      };
    };
  };
  retention = {
    daily = 14;
    weekly = 4;
    monthly = 12;
    yearly = 5;
  };
  email = {
    sender = "backups@gmail.com";
    to = "me@example.org";
    admin = "admin@example.org";
  };
  smtp = {
    host = "mail.example.org";
    port = 465;
    caFile = "/etc/ssl/certs/relay-ca.pem";
  };
  staleAfterDays = 3;
  settings = { };
  sshKeyPath = "/run/credentials/backup-server.service/ssh-key";
  knownHostsPath = "/nix/store/00000000000000000000000000000000-known_hosts";
  sshConfigPath = "/nix/store/00000000000000000000000000000000-ssh_config";
}
