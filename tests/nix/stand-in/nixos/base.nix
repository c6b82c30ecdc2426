# system.* (the toplevel, as NixOS builds it: failed assertions stop it, warnings are
# shown) and the small options the VM test's nodes set. assertions and warnings are
# declared by NixOS's own misc/assertions.nix.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  inherit (import ./declare.nix lib) option required;
  failed = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);
  # As NixOS does when building the system: failed assertions stop it, warnings are shown.
  checked =
    if failed != [ ] then
      throw "\nFailed assertions:\n${lib.concatMapStringsSep "\n" (m: "- ${m}") failed}"
    else
      lib.foldr (w: x: lib.warn w x) true config.warnings;
in
{
  options = {
    nixpkgs.hostPlatform = mkOption {
      type = types.str;
      example = "x86_64-linux";
      description = "The platform the system runs on.";
    };
    system = {
      build = mkOption {
        type = types.lazyAttrsOf types.unspecified;
        internal = true;
        default = { };
        description = "Derivations of the system (toplevel and its parts).";
      };
      checks = option (types.listOf types.package) [ ] "Derivations that must build for the system to build (checks of its configuration).";
      stateVersion = option types.str "26.05" "The NixOS release whose stateful defaults the system keeps.";
      activationScripts = mkOption {
        type = types.attrsOf (
          types.either types.str (
            types.submodule {
              options = {
                deps = option (types.listOf types.str) [ ] "Activation scripts that run before this one.";
                text = required types.lines "The script.";
                supportsDryActivation = option types.bool false "Whether the script may run on a dry activation.";
              };
            }
          )
        );
        default = { };
        description = "Shell snippets run on every activation.";
      };
    };
    boot.initrd.postDeviceCommands = option types.lines "" "Shell commands run in the initrd once devices are up.";
    time.timeZone = mkOption {
      type = types.nullOr (types.strMatching "[^ ]+");
      default = null;
      example = "Europe/Paris";
      description = "The time zone.";
    };
    # nixos/modules/virtualisation/qemu-vm.nix: the VM test's extra disks (the btrfs
    # variant's backup disk).
    virtualisation.emptyDiskImages = option (types.listOf types.ints.positive) [ ] "Sizes (MiB) of empty disks given to the VM.";
    networking = {
      hostName = option (types.strMatching "^$|^[[:alnum:]]([[:alnum:]_-]{0,61}[[:alnum:]])?$") "nixos" "The host name.";
      firewall.allowedTCPPorts = option (types.listOf types.port) [ ] "TCP ports open in the firewall.";
    };
  };

  config.system.build = {
    activate = pkgs.writeScript "activate" (
      lib.concatStrings (
        lib.mapAttrsToList (
          name: s: "# ${name}\n${if builtins.isString s then s else s.text}\n"
        ) config.system.activationScripts
      )
    );
    toplevel =
      assert checked;
      pkgs.runCommand "nixos-system-${config.networking.hostName}-${config.system.stateVersion}"
        {
          inherit (config.system.build) etc activate;
          initrdCommands = config.boot.initrd.postDeviceCommands;
          packages = config.environment.systemPackages;
          inherit (config.system) checks;
        }
        ''
          mkdir $out
          ln -s $etc $out/etc
          ln -s $activate $out/activate
        '';
  };
}
