# The stand-in's nixosSystem: nixpkgs' real lib.evalModules over NixOS's own systemd
# modules (systemd.services, timers, tmpfiles, units, the unit option types, the
# derivation of unitConfig and the unit text, assertions and warnings: the files of
# shared/nix-inputs/nixos-systemd-subset.tar.xz, which tests/nix/scratch.sh extracts
# beside this one, at their nixpkgs paths) and, for the rest of NixOS, the declarations
# in the files beside this one, written from nixpkgs' own and as strict: an option that
# is not declared, misspelt or of the wrong type is an evaluation error, as on NixOS.
{ lib, legacyPackages }:
{
  system ? null,
  modules,
  specialArgs ? { },
  ...
}:
lib.evalModules {
  class = "nixos";
  specialArgs = {
    modulesPath = toString ./modules;
  }
  // specialArgs;
  modules = [
    # NixOS's own.
    ./modules/misc/assertions.nix
    ./modules/system/boot/systemd.nix
    ./modules/system/boot/systemd/tmpfiles.nix
    # The stand-in's.
    ./base.nix
    ./etc.nix
    ./users.nix
    ./services.nix
    ./stubs.nix
    (
      {
        config,
        pkgs,
        ...
      }:
      {
        nixpkgs.hostPlatform = lib.mkIf (system != null) (lib.mkDefault system);
        _module.args = {
          pkgs = legacyPackages.${config.nixpkgs.hostPlatform};
          # As nixos/modules/misc/extra-arguments.nix passes it.
          utils = import ./lib/utils.nix { inherit lib config pkgs; };
        };
      }
    )
  ]
  ++ modules;
}
