# users.users and users.groups, with NixOS's checks that a user is either a normal or a
# system user (or has a uid below 1000) and has a group.
{ config, lib, ... }:
let
  inherit (lib) types;
  inherit (import ./declare.nix lib) option;
  user =
    { name, config, ... }:
    {
      options = {
        name = option (types.passwdEntry types.str) name "The user's name.";
        uid = option (types.nullOr types.int) null "The user's id.";
        isNormalUser = option types.bool false "A user with a home and a shell, in the group users.";
        isSystemUser = option types.bool false "A user of a service.";
        group = option types.str "" "The user's primary group.";
        extraGroups = option (types.listOf types.str) [ ] "The user's other groups.";
        description = option (types.passwdEntry types.str) "" "The GECOS field.";
        home = option (types.passwdEntry types.path) "/var/empty" "The home directory.";
        createHome = option types.bool false "Whether the home directory is created.";
        hashedPasswordFile = option (types.nullOr types.str) null "A file holding the hashed password.";
        openssh.authorizedKeys = {
          keys = option (types.listOf types.singleLineStr) [ ] "Public keys that may log in as this user.";
          keyFiles = option (types.listOf types.path) [ ] "Files of public keys that may log in as this user.";
        };
      };
      config = lib.mkIf config.isNormalUser {
        group = lib.mkDefault "users";
        home = lib.mkDefault "/home/${config.name}";
        createHome = lib.mkDefault true;
      };
    };
  group =
    { name, ... }:
    {
      options = {
        name = option (types.passwdEntry types.str) name "The group's name.";
        gid = option (types.nullOr types.int) null "The group's id.";
        members = option (types.listOf (types.passwdEntry types.str)) [ ] "The group's members.";
      };
    };
in
{
  options.users = {
    users = option (types.attrsOf (types.submodule user)) { } "User accounts.";
    groups = option (types.attrsOf (types.submodule group)) { } "Groups.";
    mutableUsers = option types.bool true "Whether users may be changed outside the configuration.";
  };
  config = {
    users.users.root = {
      uid = 0;
      group = "root";
      home = "/root";
    };
    users.groups = {
      root.gid = 0;
      users.gid = 100;
    };
    assertions = lib.concatLists (
      lib.mapAttrsToList (name: u: [
        {
          # As users-groups.nix: a uid below 1000 makes a system user too.
          assertion = u.isNormalUser != (u.isSystemUser || (u.uid != null && u.uid < 1000));
          message = "Exactly one of users.users.${name}.isSystemUser and users.users.${name}.isNormalUser must be set.";
        }
        {
          assertion = u.group != "";
          message = "users.users.${name}.group is unset.";
        }
      ]) config.users.users
    );
  };
}
