# The three-line set-up: one local task, a second disk as the target.
{
  localDir = "/mnt/backup";
  remoteDir = "/mnt/offsite";
  requireMountpoint = false;
  tasks.home = {
    source = "/home";
    excludes = [ ];
    retention = null;
  };
  retention = {
    daily = 7;
    weekly = 4;
    monthly = 12;
    yearly = 5;
  };
  email = {
    sender = "me@gmail.com";
    to = "me@gmail.com";
    admin = null;
  };
  smtp = {
    host = "smtp.gmail.com";
    port = 465;
    caFile = null;
  };
  staleAfterDays = 2;
  settings = { };
  sshKeyPath = null;
  knownHostsPath = null;
  sshConfigPath = null;
}
