# services.backupServer.btrfs: what the nightly unit needs for snapshots that are btrfs
# subvolumes (a backup disk or a local target on btrfs), and nothing when it is off.
#
# `btrfs send` and `btrfs subvolume delete` are ioctls that the kernel allows only with
# CAP_SYS_ADMIN, which the nightly unit's bounding set does not hold otherwise: without
# this option a btrfs night fails with EPERM (the unit twin shows it, and that creating a
# subvolume, snapshotting it and `btrfs receive` need no capability). It is a switch of its
# own, off by default, because CAP_SYS_ADMIN is the widest capability there is (it raises
# the unit's exposure: docs/nixos.md#snapshots-on-btrfs) and a server without btrfs must
# not pay for it. The verify unit never writes a snapshot and does not get it.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.backupServer;
in
{
  options.services.backupServer.btrfs.enable = lib.mkEnableOption ''
    snapshots as btrfs subvolumes, for a backup disk or a local target on btrfs. This adds
    `CAP_SYS_ADMIN` to the `CapabilityBoundingSet` of `backup-server.service` (the nightly
    run; not `backup-server-verify.service`, which writes no snapshot) and puts `btrfs-progs`
    on its PATH: without it, `btrfs send` and `btrfs subvolume delete` (retention, and the
    in-progress snapshot of a night) fail with EPERM in the unit; `btrfs subvolume create`,
    `snapshot` and `receive` do not need it. `CAP_SYS_ADMIN` is the widest capability: it
    raises the unit's `systemd-analyze security` exposure from 2.7 to 3.0 in the unit twin.
    Leave it off when no side is on btrfs'';

  config = lib.mkIf (cfg.enable && cfg.btrfs.enable) {
    systemd.services.backup-server = {
      path = [ pkgs.btrfs-progs ];
      # Merged with the module's list (./default.nix): the one capability added.
      serviceConfig.CapabilityBoundingSet = [ "CAP_SYS_ADMIN" ];
    };
  };
}
