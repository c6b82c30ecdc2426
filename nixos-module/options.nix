# The shapes of option services.backupServer declares again and again, each written once:
# a switch, a value that is unset (null) unless given, and the file holding a secret.
# Every option keeps its own type, example and description (nixpkgs' conventions); a
# helper only fills in the part that is the same.
{ lib }:
let
  inherit (lib) mkOption types;
in
rec {
  # A switch that is on or off by default; its example is the other way.
  mkBoolOption =
    default: description:
    mkOption {
      type = types.bool;
      example = !default;
      inherit default description;
    };

  # A value of TYPE, or null (the default) when it is not given. `args`: the example and
  # description, and anything else mkOption takes.
  mkNullOrOption =
    type: args:
    mkOption (
      {
        type = types.nullOr type;
        default = null;
      }
      // args
    );

  # The file holding a secret, as a string: a Nix path literal is refused (types.externalPath),
  # since Nix would copy the secret into the world-readable store. null when not given.
  mkSecretFileOption = mkNullOrOption types.externalPath;
}
