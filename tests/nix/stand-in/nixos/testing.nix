# The stand-in's testers.runNixOSTest: the test's own options (name, nodes, testScript, …)
# declared as strictly as nixos/lib/testing declares them, every node evaluated as a
# NixOS system (with networking.hostName set to its name, as the test framework does),
# and a driver derivation that depends on every node's system and the test script.
# Nothing runs: the test driver and the VMs need a NixOS machine.
# The result has the real one's shape: a derivation with .driver and .config.nodes.<name>.
{
  lib,
  pkgs,
  nixosSystem,
  test,
}:
let
  inherit (lib) types;
  inherit (import ./declare.nix lib) option required;
  evaluated = lib.evalModules {
    modules = [
      {
        options = {
          name = required types.str "The test's name.";
          nodes = option (types.lazyAttrsOf types.deferredModule) { } "The machines, as NixOS modules.";
          defaults = option types.deferredModule { } "A module every machine imports.";
          node.specialArgs = option (types.lazyAttrsOf types.raw) { } "specialArgs of every machine.";
          testScript = required (types.either types.str (types.functionTo types.str)) "The Python test script, or a function of { nodes } returning it.";
          skipLint = option types.bool false "Do not lint the test script.";
          skipTypeCheck = option types.bool false "Do not type-check the test script.";
          enableOCR = option types.bool false "Make OCR of the screen available.";
          globalTimeout = option types.ints.positive 3600 "Seconds after which the test fails.";
          extraPythonPackages = option (types.functionTo (types.listOf types.package)) (_: [ ]) "Python packages the test script may import.";
        };
      }
      test
    ];
  };
  cfg = evaluated.config;
  systems = lib.mapAttrs (
    name: node:
    nixosSystem {
      system = pkgs.stdenv.hostPlatform.system;
      inherit (cfg.node) specialArgs;
      modules = [
        cfg.defaults
        node
        { networking.hostName = lib.mkDefault name; }
      ];
    }
  ) cfg.nodes;
  nodes = lib.mapAttrs (_: s: s.config) systems;
  testScript = if builtins.isFunction cfg.testScript then cfg.testScript { inherit nodes; } else cfg.testScript;
  driver = pkgs.runCommand "nixos-test-driver-${cfg.name}" {
    inherit testScript;
    systems = lib.mapAttrsToList (_: n: n.system.build.toplevel) nodes;
    pythonPackages = cfg.extraPythonPackages pkgs.python3Packages;
  } "exit 1";
in
pkgs.runCommand "vm-test-run-${cfg.name}" {
  inherit driver;
  requiredSystemFeatures = [
    "nixos-test"
    "kvm"
  ];
  passthru = {
    inherit driver;
    config = cfg // {
      inherit nodes;
    };
  };
} "exit 1"
