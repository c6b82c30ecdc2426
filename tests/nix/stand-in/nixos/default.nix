# The stand-in's nixosSystem: nixpkgs' real lib.evalModules over the NixOS option
# declarations this flake, its VM test and sops-nix use (the files beside this one),
# written from nixpkgs' own declarations and as strict: an option that is not declared
# here, misspelt or of the wrong type is an evaluation error, as it is on NixOS.
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
    modulesPath = toString ./.;
  }
  // specialArgs;
  modules = [
    ./base.nix
    ./etc.nix
    ./systemd.nix
    ./users.nix
    ./services.nix
    (
      { config, ... }:
      {
        nixpkgs.hostPlatform = lib.mkIf (system != null) (lib.mkDefault system);
        _module.args.pkgs = legacyPackages.${config.nixpkgs.hostPlatform};
      }
    )
  ]
  ++ modules;
}
