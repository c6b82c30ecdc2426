# environment.etc and environment.systemPackages.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  entry =
    {
      name,
      config,
      options,
      ...
    }:
    {
      options = {
        enable = mkOption {
          type = types.bool;
          default = true;
          description = "Whether this file is generated.";
        };
        target = mkOption {
          type = types.str;
          default = name;
          description = "Its name, relative to /etc.";
        };
        text = mkOption {
          type = types.nullOr types.lines;
          default = null;
          description = "Its text.";
        };
        source = mkOption {
          type = types.path;
          description = "The file it links to or copies.";
        };
        mode = mkOption {
          type = types.str;
          default = "symlink";
          example = "0600";
          description = "`symlink`, `direct-symlink`, or the mode of a copy.";
        };
        uid = mkOption {
          type = types.int;
          default = 0;
          description = "The owner of a copy.";
        };
        gid = mkOption {
          type = types.int;
          default = 0;
          description = "The group of a copy.";
        };
        user = mkOption {
          type = types.str;
          default = "+${toString config.uid}";
          description = "The owner of a copy, by name.";
        };
        group = mkOption {
          type = types.str;
          default = "+${toString config.gid}";
          description = "The group of a copy, by name.";
        };
      };
      config.source = lib.mkIf (config.text != null) (
        lib.mkDerivedConfig options.text (pkgs.writeText "etc-${baseNameOf name}")
      );
    };
  files = lib.filter (f: f.enable) (lib.attrValues config.environment.etc);
in
{
  options.environment = {
    etc = mkOption {
      type = types.attrsOf (types.submodule entry);
      default = { };
      description = "Files in /etc.";
    };
    systemPackages = mkOption {
      type = types.listOf types.package;
      default = [ ];
      description = "Packages in the system profile.";
    };
  };
  # passthru.targets: the names, as NixOS's etc.nix gives them (tmpfiles.nix reads them).
  config.system.build.etc = pkgs.runCommand "etc" {
    sources = map (f: f.source) files;
    passthru.targets = map (f: f.target) files;
  } (
    lib.concatMapStrings (f: ''
      mkdir -p "$out/etc/$(dirname ${lib.escapeShellArg f.target})"
      ln -s ${lib.escapeShellArg "${f.source}"} "$out/etc/"${lib.escapeShellArg f.target}
      ${lib.optionalString (f.mode != "symlink" && f.mode != "direct-symlink") "echo ${lib.escapeShellArgs [ f.mode f.user f.group ]} > \"$out/etc/\"${lib.escapeShellArg f.target}.mode"}
    '') files
  );
}
