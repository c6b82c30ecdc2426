# Stubs: the options that NixOS's systemd.nix and systemd/tmpfiles.nix (the real ones,
# from the subset) set or read, declared in NixOS modules that are not brought here, and
# systemd.sysusers.enable, which sops-nix reads.
# Each is declared with the type NixOS gives it where this project could depend on it,
# and loosely (`anything`) where only those two files set it and nothing here reads it.
# A stub is never a place to declare an option of the systemd modules themselves: those
# come from the subset, and declaring one here again is an error ("already declared").
{ lib, ... }:
let
  inherit (lib) types;
  # An option as the stand-in declares them all (./declare.nix): a type, a default, a line.
  stub = (import ./declare.nix lib).option;
  loose = description: stub (types.attrsOf types.anything) { } description;
in
{
  options = {
    # nixos/modules/system/boot/systemd/user.nix: systemd.nix links the user generators
    # into /etc, tmpfiles.nix adds the user tmpfiles units.
    systemd.user.generators = stub (types.attrsOf types.path) { } "User generators (systemd/user.nix).";
    systemd.additionalUpstreamUserUnits =
      stub (types.listOf types.str) [ ]
        "Upstream user units (systemd/user.nix).";
    # nixos/modules/system/boot/systemd/sysusers.nix: sops-nix reads it.
    systemd.sysusers.enable =
      stub types.bool false
        "Create users with systemd-sysusers (systemd/sysusers.nix).";

    # nixos/modules/tasks/filesystems.nix, system/boot/kernel.nix, system/boot/stage-2.nix,
    # virtualisation/container-config.nix: systemd.nix reads them for PATH of PID 1, the
    # upstream units it enables and the unit path.
    system.fsPackages = stub (types.listOf types.package) [ ] "Packages of file system tools (filesystems.nix).";
    boot.isContainer = stub types.bool false "Whether this is a container (container-config.nix).";
    boot.extraSystemdUnitPaths = stub (types.listOf types.str) [ ] "More unit directories (stage-2.nix).";
    boot.kernel.sysctl = loose "Kernel parameters (system/boot/kernel/sysctl.nix); set by systemd.nix.";
    system.requiredKernelConfig =
      stub (types.listOf types.attrs) [ ]
        "Kernel options the system needs (system/boot/kernel.nix); set by systemd.nix.";
    # nixos/modules/misc/lib.nix; kernelConfig.isEnabled from system/boot/kernel.nix.
    lib = stub (types.attrsOf types.attrs) { } "Functions for the configuration (misc/lib.nix).";

    # nixos/modules/system/boot/systemd/initrd.nix: tmpfiles.nix adds its units to the
    # initrd; this project has no initrd.
    boot.initrd.systemd = {
      additionalUpstreamUnits =
        stub (types.listOf types.str) [ ]
          "Upstream units of the initrd (systemd/initrd.nix); set by tmpfiles.nix.";
      services = loose "Services of the initrd (systemd/initrd.nix); set by tmpfiles.nix.";
      contents = loose "Files of the initrd (systemd/initrd.nix); set by tmpfiles.nix.";
      storePaths =
        stub (types.listOf types.anything) [ ]
          "Store paths in the initrd (systemd/initrd.nix); read by tmpfiles.nix.";
    };

    # nixos/modules/config/nsswitch.nix: systemd.nix adds its NSS modules.
    system.nssModules = stub (types.listOf types.path) [ ] "NSS modules (nsswitch.nix).";
    system.nssDatabases = lib.genAttrs [ "hosts" "passwd" "group" ] (
      db: stub (types.listOf types.str) [ ] "NSS sources of ${db} (nsswitch.nix)."
    );
    # nixos/modules/misc/ids.nix: the uids and gids systemd.nix gives its users.
    ids = {
      uids = stub (types.attrsOf types.int) { } "Fixed user ids (misc/ids.nix).";
      gids = stub (types.attrsOf types.int) { } "Fixed group ids (misc/ids.nix).";
    };
    # nixos/modules/config/networking.nix: the proxy environment of systemd-importd.
    networking.proxy.envVars =
      stub (types.attrsOf types.str) { }
        "Proxy environment variables (config/networking.nix).";
    # security/pam.nix, security/polkit.nix, services/system/dbus.nix,
    # services/logging/logrotate.nix: what systemd.nix sets for run0, D-Bus and wtmp.
    security.pam.services = loose "PAM services (security/pam.nix); set by systemd.nix.";
    security.polkit.enable = stub types.bool false "Whether polkit runs (security/polkit.nix).";
    services.dbus.enable = stub types.bool false "Whether D-Bus runs (services/system/dbus.nix).";
    services.logrotate.settings = loose "logrotate's settings (logrotate.nix); set by systemd.nix.";
  };

  config = {
    # As misc/ids.nix has them.
    ids.uids = {
      systemd-network = 152;
      systemd-resolve = 153;
    };
    ids.gids = {
      keys = 96;
      systemd-network = 152;
      systemd-resolve = 153;
      utmp = 29;
    };
    # As config/users-groups.nix has it (systemd.nix names it in logrotate's settings).
    users.groups.utmp.gid = 29;
    lib.kernelConfig.isEnabled = name: {
      tristate = "y";
      inherit name;
    };
  };
}
