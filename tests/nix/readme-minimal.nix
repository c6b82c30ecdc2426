# The README's minimal example ("On NixOS"): the lines of a configuration.nix whose flake
# has this one as its input backup-server, exactly as the README prints them
# (tests/nix/readme-examples.py fails when they differ). tests/nix/eval.nix evaluates it
# with every other option at its default.
{ backup-server, ... }:
{
imports = [ backup-server.nixosModules.default ];
services.backupServer = {
  enable = true;
  localDir = "/mnt/backup";
  remoteDir = "/mnt/offsite";   # or user@host:/path, with ssh.keyFile
  tasks.home.source = "/home";
  email = { sender = "me@gmail.com"; to = "me@gmail.com"; passwordFile = "/root/secrets/gmail-app-password"; };
};
}
