# A strict stand-in for nixpkgs, for `nix flake check --override-input nixpkgs` on
# machines that cannot hold nixpkgs (see tests/nix/run): nixpkgs' real lib, which
# tests/nix/run copies beside this file as ./lib from shared/nix-inputs (never committed);
# lib.nixosSystem over the NixOS options this project uses (./nixos); and legacyPackages
# whose packages are derivations that are instantiated and never built (./pkgs.nix).
{
  description = "nixpkgs stand-in: the real lib, a strict slice of NixOS, unbuilt packages";

  outputs =
    { self }:
    let
      lib = (import ./lib).extend (
        final: _: {
          nixosSystem = import ./nixos {
            lib = final;
            inherit (self) legacyPackages;
          };
        }
      );
    in
    {
      inherit lib;
      legacyPackages = lib.genAttrs [ "x86_64-linux" "aarch64-linux" ] (
        system:
        import ./pkgs.nix {
          inherit lib system;
          inherit (lib) nixosSystem;
        }
      );
    };
}
