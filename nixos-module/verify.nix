# services.backupServer.verify: `backup-server verify` on a timer of its own (weekly by
# default), so that a target's copy that rotted, half-failed or was tampered with is
# found while the backup disk still holds the snapshot, not on the day of a restore.
#
# backup-server-verify.service reads the backup disk, the targets and the sources and
# writes only the record (the state directory, shared with backup-server.service) and
# the pages: it runs hardened like the nightly unit, with the backup directories
# read-only and no capability but reading everything. It takes the run lock, so it never
# reads a snapshot a run is changing; a run going on makes it exit 75 (not a failure)
# and wait for the next time. It exits 4 when a copy differs, so the unit fails and
# `systemctl --failed` shows it; the next nightly report says it too.
{ config, lib, ... }:
let
  inherit (lib) mkIf optional optionals types;
  inherit (import ./options.nix { inherit lib; }) mkBoolOption mkNullOrOption;
  cfg = config.services.backupServer;
  timer = import ./timer.nix { inherit lib; };
  # The nightly unit as NixOS merged it, with the user's definitions on top of ours.
  nightly = config.systemd.services.backup-server;
  # The directives NAMES of a merged section, those it has: a user may have removed one.
  shared = names: section: builtins.intersectAttrs (lib.genAttrs names (_: null)) section;
  verifyCommand =
    import ./command.nix { inherit lib; } cfg
    ++ [ "verify" ]
    ++ optionals (cfg.verify.samplePercent != null) [
      "--sample"
      (toString cfg.verify.samplePercent)
    ]
    # The config names backup-server.service's credential; this unit has its own (%d).
    ++ optionals (cfg.ssh.keyFile != null) [
      "--ssh-key"
      "%d/ssh-key"
    ];
in
{
  options.services.backupServer.verify = {
    enable = mkBoolOption true ''
      Run `backup-server verify` on {option}`services.backupServer.verify.schedule`: each
      target's newest snapshot is compared with the backup disk's by content, and the newest
      local snapshot with the source for the files unchanged since; every difference is
      recorded, shown on the pages and in the next report, and fails the unit.
    '';
    samplePercent = mkNullOrOption (types.ints.between 1 100) {
      example = 10;
      description = ''
        Read the contents of a random share of the files only (in percent), for targets too
        large or too far to read whole every time; every entry's type, size, time and metadata
        are still compared. null reads every file.
      '';
    };
  }
  // timer.options {
    default = "Sun *-*-* 05:00:00";
    example = "monthly";
    description = ''
      When to verify, as a systemd OnCalendar expression. Pick a time the nightly run is
      over: a verify that finds a run going skips its turn.
    '';
    what = "Verify";
  };

  config = mkIf (cfg.enable && cfg.verify.enable) {
    systemd.services.backup-server-verify = {
      description = "backup-server: verify the copies of the newest snapshots";
      documentation = [ "file://${cfg.package}/share/doc/backup-server/README.md" ];
      wants = [ "network-online.target" ];
      after = [
        "network-online.target"
        "backup-server.service"
      ];
      # The nightly unit's mount directives: the disks it reads are the nightly run's.
      # Only these: NixOS's merged unitConfig also holds After=, Wants=, Description=
      # and Documentation=, derived from the nightly unit's own options, which would
      # conflict with this unit's.
      unitConfig = shared [
        "RequiresMountsFor"
        "WantsMountsFor"
      ] nightly.unitConfig;
      restartIfChanged = false;
      serviceConfig =
        # The nightly unit's hardening and priorities, kept in step with it; at default
        # priority, so a user may set one of this unit's own without mkForce.
        lib.mapAttrs (_: lib.mkDefault) (
          shared (lib.attrNames (import ./hardening.nix)) nightly.serviceConfig
        )
        // {
          Type = "oneshot";
          ExecStart = lib.escapeShellArgs verifyCommand;
          # 75: a run holds the lock; this verify waits for the next time.
          SuccessExitStatus = [ 75 ];
          LoadCredential = optional (cfg.ssh.keyFile != null) "ssh-key:${cfg.ssh.keyFile}";
          # It writes the record (StateDirectory) and the pages; the backups are read-only.
          ReadWritePaths = optional cfg.site.enable "-${dirOf cfg.site.dir}";
          # Reading everything is all it needs: it never writes a snapshot, an owner or a mode.
          CapabilityBoundingSet = [ "CAP_DAC_READ_SEARCH" ];
          # It opens no device, and creates none.
          PrivateDevices = true;
          DevicePolicy = "closed";
          RestrictSUIDSGID = true;
        };
    };

    # A nightly serviceConfig replaced whole (mkForce) would leave this unit unhardened,
    # silently: say so instead.
    assertions = [
      {
        assertion = nightly.serviceConfig ? ProtectSystem && nightly.serviceConfig ? SystemCallFilter;
        message = "services.backupServer.verify: backup-server-verify.service takes its hardening from systemd.services.backup-server.serviceConfig, which no longer has ProtectSystem and SystemCallFilter (was it replaced whole with mkForce?); set them again there, or set services.backupServer.verify.enable = false.";
      }
    ];

    systemd.timers.backup-server-verify = timer.unit "Weekly backup-server verify" cfg.verify;
  };
}
