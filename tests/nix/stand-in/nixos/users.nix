# users.users and users.groups, with NixOS's checks that a user is either a normal or a
# system user (or has a uid below 1000) and has a group.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  user =
    { name, config, ... }:
    {
      options = {
        name = mkOption {
          type = types.passwdEntry types.str;
          default = name;
          description = "The user's name.";
        };
        uid = mkOption {
          type = types.nullOr types.int;
          default = null;
          description = "The user's id.";
        };
        isNormalUser = mkOption {
          type = types.bool;
          default = false;
          description = "A user with a home and a shell, in the group users.";
        };
        isSystemUser = mkOption {
          type = types.bool;
          default = false;
          description = "A user of a service.";
        };
        group = mkOption {
          type = types.str;
          default = "";
          description = "The user's primary group.";
        };
        extraGroups = mkOption {
          type = types.listOf types.str;
          default = [ ];
          description = "The user's other groups.";
        };
        description = mkOption {
          type = types.passwdEntry types.str;
          default = "";
          description = "The GECOS field.";
        };
        home = mkOption {
          type = types.passwdEntry types.path;
          default = "/var/empty";
          description = "The home directory.";
        };
        createHome = mkOption {
          type = types.bool;
          default = false;
          description = "Whether the home directory is created.";
        };
        hashedPasswordFile = mkOption {
          type = types.nullOr types.str;
          default = null;
          description = "A file holding the hashed password.";
        };
        openssh.authorizedKeys = {
          keys = mkOption {
            type = types.listOf types.singleLineStr;
            default = [ ];
            description = "Public keys that may log in as this user.";
          };
          keyFiles = mkOption {
            type = types.listOf types.path;
            default = [ ];
            description = "Files of public keys that may log in as this user.";
          };
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
        name = mkOption {
          type = types.passwdEntry types.str;
          default = name;
          description = "The group's name.";
        };
        gid = mkOption {
          type = types.nullOr types.int;
          default = null;
          description = "The group's id.";
        };
        members = mkOption {
          type = types.listOf (types.passwdEntry types.str);
          default = [ ];
          description = "The group's members.";
        };
      };
    };
in
{
  options.users = {
    users = mkOption {
      type = types.attrsOf (types.submodule user);
      default = { };
      description = "User accounts.";
    };
    groups = mkOption {
      type = types.attrsOf (types.submodule group);
      default = { };
      description = "Groups.";
    };
    mutableUsers = mkOption {
      type = types.bool;
      default = true;
      description = "Whether users may be changed outside the configuration.";
    };
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
