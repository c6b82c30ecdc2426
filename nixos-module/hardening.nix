# The serviceConfig that backup-server.service and backup-server-verify.service share:
# idle priorities, the state directory and the hardening rsync running as root allows.
# The nightly unit sets these; the verify unit takes them from the nightly unit as NixOS
# merged it (./verify.nix), so that a user's change to one reaches both. What differs
# (devices, capabilities, setuid bits, writable paths) each unit says itself.
{
  # Idle priority: a backup must not make the server sluggish.
  Nice = 19;
  CPUSchedulingPolicy = "idle";
  IOSchedulingClass = "idle";

  # log.db, step logs, the outbox: root's alone. The site lives elsewhere.
  StateDirectory = "backup-server";
  StateDirectoryMode = "0700";

  ProtectSystem = "strict";
  ProtectHome = "read-only";
  PrivateTmp = true;
  ProtectKernelTunables = true;
  ProtectKernelModules = true;
  ProtectKernelLogs = true;
  ProtectControlGroups = true;
  ProtectClock = true;
  ProtectHostname = true;
  ProtectProc = "invisible";
  ProcSubset = "pid";
  RestrictNamespaces = true;
  RestrictRealtime = true;
  LockPersonality = true;
  MemoryDenyWriteExecute = true;
  NoNewPrivileges = true;
  RemoveIPC = true;
  PrivateIPC = true;
  KeyringMode = "private";
  RestrictAddressFamilies = [
    "AF_UNIX"
    "AF_INET"
    "AF_INET6"
  ];
  SystemCallArchitectures = "native";
  SystemCallFilter = [ "@system-service" ];
  UMask = "0077";
}
