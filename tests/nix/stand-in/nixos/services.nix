# services.openssh, services.nginx (virtual hosts rendered into server blocks the way
# nixos/modules/services/web-servers/nginx renders them), services.timesyncd and
# services.userborn: the options this flake's module, its VM test and sops-nix use.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  inherit (import ./declare.nix lib) option;
  nginx = config.services.nginx;
  openssh = config.services.openssh;

  location = {
    options = {
      root = option (types.nullOr types.path) null "root of this location.";
      alias = option (types.nullOr types.path) null "alias of this location.";
      index = option (types.nullOr types.str) null "index of this location.";
      tryFiles = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "$uri =404";
        description = "try_files of this location.";
      };
      return = mkOption {
        type = types.nullOr (types.oneOf [
          types.str
          types.int
        ]);
        default = null;
        description = "return of this location.";
      };
      proxyPass = option (types.nullOr types.str) null "proxy_pass of this location.";
      extraConfig = option types.lines "" "Directives of this location.";
      priority = option types.int 1000 "Locations are written in this order, then by name.";
    };
  };
  virtualHost =
    { name, ... }:
    {
      options = {
        serverName = option types.str name "server_name.";
        serverAliases = option (types.listOf types.str) [ ] "More server names.";
        root = option (types.nullOr types.path) null "The document root.";
        basicAuthFile = option (types.nullOr types.path) null "An htpasswd file protecting the host.";
        default = option types.bool false "Whether this is the default server.";
        locations = option (types.attrsOf (types.submodule location)) { } "Locations.";
        extraConfig = option types.lines "" "Directives of the server block.";
      };
    };

  renderLocation = name: l: ''
    location ${name} {
    ${lib.concatStrings [
      (lib.optionalString (l.proxyPass != null) "proxy_pass ${l.proxyPass};\n")
      (lib.optionalString (l.index != null) "index ${l.index};\n")
      (lib.optionalString (l.tryFiles != null) "try_files ${l.tryFiles};\n")
      (lib.optionalString (l.root != null) "root ${l.root};\n")
      (lib.optionalString (l.alias != null) "alias ${l.alias};\n")
      (lib.optionalString (l.return != null) "return ${toString l.return};\n")
      l.extraConfig
    ]}}
  '';
  renderHost = host: ''
    server {
    listen 0.0.0.0:80${lib.optionalString host.default " default_server"};
    listen [::0]:80${lib.optionalString host.default " default_server"};
    server_name ${toString ([ host.serverName ] ++ host.serverAliases)};
    ${lib.optionalString (host.root != null) "root ${host.root};"}
    ${lib.optionalString (host.basicAuthFile != null) "auth_basic secured;\nauth_basic_user_file ${host.basicAuthFile};"}
    ${lib.concatStrings (
      map (n: renderLocation n host.locations.${n}) (
        lib.sort (
          a: b:
          let
            pa = host.locations.${a}.priority;
            pb = host.locations.${b}.priority;
          in
          pa < pb || (pa == pb && a < b)
        ) (lib.attrNames host.locations)
      )
    )}
    ${host.extraConfig}
    }
  '';
in
{
  options.services = {
    openssh = {
      enable = lib.mkEnableOption "the OpenSSH daemon";
      package = option types.package pkgs.openssh "The OpenSSH package.";
      ports = option (types.listOf types.port) [ 22 ] "Ports sshd listens on.";
      hostKeys = mkOption {
        type = types.listOf types.attrs;
        default = [
          {
            type = "rsa";
            bits = 4096;
            path = "/etc/ssh/ssh_host_rsa_key";
          }
          {
            type = "ed25519";
            path = "/etc/ssh/ssh_host_ed25519_key";
          }
        ];
        description = "Host keys, generated when missing.";
      };
    };
    nginx = {
      enable = lib.mkEnableOption "nginx";
      package = option types.package pkgs.nginx "The nginx package.";
      virtualHosts = option (types.attrsOf (types.submodule virtualHost)) { } "Virtual hosts.";
    };
    timesyncd.enable = option types.bool true "Whether systemd-timesyncd keeps the clock.";
    userborn.enable = option types.bool false "Create users with userborn instead of the activation script.";
  };

  config = lib.mkMerge [
    (lib.mkIf nginx.enable {
      # The server blocks, for the unit twin, which serves the pages with Debian's nginx.
      system.build.nginxServers = pkgs.writeText "nginx-servers.conf" (
        lib.concatMapStrings renderHost (lib.attrValues nginx.virtualHosts)
      );
      systemd.services.nginx = {
        description = "Nginx Web Server";
        wantedBy = [ "multi-user.target" ];
        after = [ "network.target" ];
        serviceConfig = {
          ExecStart = "${nginx.package}/bin/nginx -c ${pkgs.writeText "nginx.conf" "events {}\nhttp {\ninclude ${config.system.build.nginxServers};\n}\n"}";
          Restart = "always";
        };
      };
    })
    (lib.mkIf openssh.enable {
      systemd.services.sshd = {
        description = "SSH Daemon";
        wantedBy = [ "multi-user.target" ];
        serviceConfig.ExecStart = "${openssh.package}/bin/sshd -D -f /etc/ssh/sshd_config";
      };
      # As NixOS does: each user's keys, files read at evaluation, in /etc/ssh/authorized_keys.d.
      environment.etc = lib.mapAttrs' (
        name: u:
        lib.nameValuePair "ssh/authorized_keys.d/${name}" {
          mode = "0444";
          text = lib.concatMapStrings (k: k + "\n") (
            u.openssh.authorizedKeys.keys ++ map builtins.readFile u.openssh.authorizedKeys.keyFiles
          );
        }
      ) config.users.users;
    })
  ];
}
