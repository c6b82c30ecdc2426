{
  description = "backup-server: dated rsync snapshots, pruned, mirrored over SSH, reported by email, with static history pages";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";
    sops-nix = {
      url = "github:Mic92/sops-nix";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs =
    {
      self,
      nixpkgs,
      sops-nix,
    }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (pkgs: {
        default = pkgs.callPackage ./nix/package.nix { };
      });

      apps = forAllSystems (
        pkgs:
        let
          package = self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        in
        {
          default = {
            type = "app";
            program = "${package}/bin/backup-server";
            meta.description = "backup-server (run, check-config, render-site, demo)";
          };
          demo = {
            type = "app";
            program = "${pkgs.writeShellScript "backup-server-demo" ''exec ${package}/bin/backup-server demo "$@"''}";
            meta.description = "A simulated week of backups on sample data: no root, no network";
          };
        }
      );

      # A module (an attribute set), not a bare path, which older Nix refuses as a flake output.
      nixosModules.default = {
        _class = "nixos";
        imports = [ ./nixos-module ];
      };

      checks = forAllSystems (
        pkgs:
        let
          package = self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        in
        {
          inherit package;
          clippy = package.overrideAttrs (old: {
            pname = "backup-server-clippy";
            nativeBuildInputs = old.nativeBuildInputs ++ [ pkgs.clippy ];
            buildPhase = "cargo clippy --all-targets --offline -- -D warnings";
            doCheck = false;
            installPhase = "touch $out";
            postInstall = "";
          });
          # The module's scenarios evaluated as NixOS systems (tests/nix/eval.nix): evaluating
          # the summary throws when a scenario's assertions or facts are not the expected ones.
          module-eval =
            let
              scenarios = import ./tests/nix/eval.nix {
                inherit (nixpkgs) lib;
                module = self.nixosModules.default;
                sopsModule = sops-nix.nixosModules.sops;
                system = pkgs.stdenv.hostPlatform.system;
              };
            in
            pkgs.runCommand "backup-server-module-eval" { passthru = { inherit (scenarios) configs; }; } ''
              echo ${nixpkgs.lib.escapeShellArg (builtins.toJSON scenarios.summary)} > $out
            '';
          vm = import ./tests/nixos {
            inherit pkgs sops-nix;
            module = self.nixosModules.default;
          };
          # The same test with the backup disk on btrfs and services.backupServer.btrfs on.
          vm-btrfs = import ./tests/nixos {
            inherit pkgs sops-nix;
            module = self.nixosModules.default;
            btrfs = true;
          };
        }
      );

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          inputsFrom = [ self.packages.${pkgs.stdenv.hostPlatform.system}.default ];
          packages = with pkgs; [
            cargo
            clippy
            rustfmt
            rsync
            openssh
            sqlite
            shellcheck
            nginx
            chromium
            prometheus
            (python3.withPackages (p: [
              p.aiosmtpd
              p.feedparser
            ]))
          ];
        };
      });

      formatter = forAllSystems (pkgs: pkgs.nixfmt);
    };
}
