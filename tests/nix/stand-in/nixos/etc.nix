# environment.etc and environment.systemPackages.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) types;
  inherit (import ./declare.nix lib) option required;
  entry =
    {
      name,
      config,
      options,
      ...
    }:
    {
      options = {
        enable = option types.bool true "Whether this file is generated.";
        target = option types.str name "Its name, relative to /etc.";
        text = option (types.nullOr types.lines) null "Its text.";
        source = required types.path "The file it links to or copies.";
        mode = option types.str "symlink" "`symlink`, `direct-symlink`, or the mode of a copy.";
        uid = option types.int 0 "The owner of a copy.";
        gid = option types.int 0 "The group of a copy.";
        user = option types.str "+${toString config.uid}" "The owner of a copy, by name.";
        group = option types.str "+${toString config.gid}" "The group of a copy, by name.";
      };
      config.source = lib.mkIf (config.text != null) (
        lib.mkDerivedConfig options.text (pkgs.writeText "etc-${baseNameOf name}")
      );
    };
  files = lib.filter (f: f.enable) (lib.attrValues config.environment.etc);
in
{
  options.environment = {
    etc = option (types.attrsOf (types.submodule entry)) { } "Files in /etc.";
    systemPackages = option (types.listOf types.package) [ ] "Packages in the system profile.";
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
