# systemd.services, systemd.timers and systemd.tmpfiles, declared as nixpkgs declares
# them (nixos/lib/systemd-unit-options.nix) and rendered into unit files the way
# nixos/lib/systemd-lib.nix renders them: [Unit] from the dependency options and
# unitConfig, [Service] with one Environment= line per variable (PATH from `path`, which
# starts with coreutils, findutils, gnugrep, gnused and systemd), X-RestartIfChanged=false
# when a service must not be restarted by a switch, then serviceConfig; a list value
# becomes one line per element, true/false are written as such.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  cfg = config.systemd;

  unitName = types.strMatching "[a-zA-Z0-9@%:_.\\-]+[.](service|socket|device|mount|automount|swap|target|path|timer|scope|slice)";
  units = mkOption {
    type = types.listOf unitName;
    default = [ ];
    description = "Unit names.";
  };

  atom = v: builtins.isBool v || builtins.isInt v || builtins.isFloat v || lib.isStringLike v;
  # A directive's value, or a list for a directive given several times. As in NixOS,
  # the definitions of one directive are all lists (concatenated) or all single values
  # (which must agree).
  unitOption = lib.mkOptionType {
    name = "systemd option";
    description = "systemd directive value (a string, number, boolean, path, or a list of them)";
    check = v: atom v || (builtins.isList v && lib.all atom v);
    merge =
      loc: defs:
      if builtins.isList (lib.head defs).value then
        lib.concatMap (
          def:
          if builtins.isList def.value then
            def.value
          else
            throw "The definitions of ${lib.showOption loc} mix lists and single values."
        ) defs
      else
        lib.mergeEqualOption loc defs;
  };
  section =
    description:
    mkOption {
      type = types.attrsOf unitOption;
      default = { };
      inherit description;
    };

  commonOptions = {
    enable = mkOption {
      type = types.bool;
      default = true;
      description = "When false, the unit is masked.";
    };
    description = mkOption {
      type = types.singleLineStr;
      default = "";
      description = "Description=.";
    };
    documentation = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "Documentation=.";
    };
    requires = units;
    wants = units;
    upholds = units;
    after = units;
    before = units;
    bindsTo = units;
    partOf = units;
    conflicts = units;
    requisite = units;
    onFailure = units;
    onSuccess = units;
    wantedBy = units;
    requiredBy = units;
    upheldBy = units;
    aliases = units;
    unitConfig = section "Directives of the [Unit] section.";
    restartTriggers = mkOption {
      type = types.listOf types.unspecified;
      default = [ ];
      description = "Restart the unit on a switch when one of these changes.";
    };
    reloadTriggers = mkOption {
      type = types.listOf unitOption;
      default = [ ];
      description = "Reload the unit on a switch when one of these changes.";
    };
  };

  checkService =
    service:
    let
      oneOf =
        key: values:
        !(service ? ${key})
        || builtins.elem service.${key} values
        || throw "systemd: ${key}=${toString service.${key}} is not one of ${toString values}";
    in
    oneOf "Type" [
      "exec"
      "simple"
      "forking"
      "oneshot"
      "dbus"
      "notify"
      "notify-reload"
      "idle"
    ]
    && oneOf "Restart" [
      "no"
      "on-success"
      "on-failure"
      "on-abnormal"
      "on-abort"
      "on-watchdog"
      "always"
    ];

  lines =
    description:
    mkOption {
      type = types.lines;
      default = "";
      inherit description;
    };

  service =
    { name, config, ... }:
    {
      options = commonOptions // {
        serviceConfig = mkOption {
          type = types.addCheck (types.attrsOf unitOption) checkService;
          default = { };
          description = "Directives of the [Service] section.";
        };
        environment = mkOption {
          type = types.attrsOf (
            types.nullOr (
              types.oneOf [
                types.str
                types.path
                types.package
              ]
            )
          );
          default = { };
          description = "Environment variables of the service.";
        };
        path = mkOption {
          type = types.listOf (types.oneOf [
            types.package
            types.str
          ]);
          default = [ ];
          description = "Packages whose bin and sbin directories go on PATH.";
        };
        script = lines "The main process, as a shell script.";
        scriptArgs = mkOption {
          type = types.str;
          default = "";
          description = "Arguments of the script.";
        };
        preStart = lines "Run before the main process.";
        postStart = lines "Run after the main process started.";
        preStop = lines "Run to stop the service.";
        postStop = lines "Run after the main process exited.";
        reload = lines "Run to reload the service.";
        restartIfChanged = mkOption {
          type = types.bool;
          default = true;
          description = "Whether a switch restarts the service when its unit changed.";
        };
        reloadIfChanged = mkOption {
          type = types.bool;
          default = false;
          description = "Whether a switch reloads rather than restarts the service.";
        };
        stopIfChanged = mkOption {
          type = types.bool;
          default = true;
          description = "Whether a switch stops the old unit before starting the new one.";
        };
        startAt = mkOption {
          type = types.either types.str (types.listOf types.str);
          default = [ ];
          apply = v: if builtins.isList v then v else [ v ];
          description = "OnCalendar= of a timer started with the system.";
        };
      };
      config = lib.mkMerge [
        { path = lib.mkAfter (with pkgs; [ coreutils findutils gnugrep gnused systemd ]); }
        {
          environment.PATH = lib.mkIf (config.path != [ ]) "${lib.makeBinPath config.path}:${lib.makeSearchPathOutput "bin" "sbin" config.path}";
        }
        (lib.mkIf (config.script != "") {
          serviceConfig.ExecStart = "${jobScript "${name}-start" config.script} ${config.scriptArgs}";
        })
        (lib.mkIf (config.preStart != "") {
          serviceConfig.ExecStartPre = [ (jobScript "${name}-pre-start" config.preStart) ];
        })
        (lib.mkIf (config.postStart != "") {
          serviceConfig.ExecStartPost = [ (jobScript "${name}-post-start" config.postStart) ];
        })
        (lib.mkIf (config.preStop != "") { serviceConfig.ExecStop = jobScript "${name}-pre-stop" config.preStop; })
        (lib.mkIf (config.postStop != "") {
          serviceConfig.ExecStopPost = jobScript "${name}-post-stop" config.postStop;
        })
        (lib.mkIf (config.reload != "") { serviceConfig.ExecReload = jobScript "${name}-reload" config.reload; })
      ];
    };
  jobScript = name: text: "${pkgs.writeShellScriptBin name "set -e\n\n${text}"}/bin/${name}";

  timer = {
    options = commonOptions // {
      timerConfig = section "Directives of the [Timer] section.";
    };
  };

  toValue =
    v:
    if v == true then
      "true"
    else if v == false then
      "false"
    else
      toString v;
  directives = lib.concatMapAttrsStringSep "" (
    key: value: lib.concatMapStrings (v: "${key}=${toValue v}\n") (lib.toList value)
  );
  unitSection =
    def:
    lib.filterAttrs (_: v: v != "" && v != [ ]) {
      Requires = toString def.requires;
      Wants = toString def.wants;
      Upholds = toString def.upholds;
      After = toString def.after;
      Before = toString def.before;
      BindsTo = toString def.bindsTo;
      PartOf = toString def.partOf;
      Conflicts = toString def.conflicts;
      Requisite = toString def.requisite;
      Description = def.description;
      Documentation = toString def.documentation;
      OnFailure = toString def.onFailure;
      OnSuccess = toString def.onSuccess;
    }
    // def.unitConfig;
  unitText =
    def: kind: body:
    "[Unit]\n"
    + directives (unitSection def)
    + "\n[${kind}]\n"
    + body
    + lib.optionalString (def.wantedBy != [ ]) "\n[Install]\nWantedBy=${toString def.wantedBy}\n";
  serviceBody =
    def:
    let
      env = cfg.globalEnvironment // def.environment;
    in
    lib.concatMapStrings (n: lib.optionalString (env.${n} != null) "Environment=${builtins.toJSON "${n}=${env.${n}}"}\n") (
      lib.attrNames env
    )
    + (
      if def.reloadIfChanged then
        "X-ReloadIfChanged=true\n"
      else
        lib.optionalString (!def.restartIfChanged) "X-RestartIfChanged=false\n"
    )
    + lib.optionalString (!def.stopIfChanged) "X-StopIfChanged=false\n"
    + directives def.serviceConfig;

  makeUnit = name: def: text: {
    inherit text;
    inherit (def) wantedBy requiredBy enable;
    unit = pkgs.writeTextFile {
      name = "unit-${lib.replaceStrings [ "@" ":" "\\" "[" "]" ] [ "-" "-" "-" "" "" ] name}";
      destination = "/${name}";
      text = if def.enable then text else "";
    };
  };
in
{
  options.systemd = {
    package = mkOption {
      type = types.package;
      default = pkgs.systemd;
      description = "The systemd package.";
    };
    globalEnvironment = mkOption {
      type = types.attrsOf (
        types.nullOr (
          types.oneOf [
            types.str
            types.path
            types.package
          ]
        )
      );
      default = { };
      description = "Environment variables of every service.";
    };
    services = mkOption {
      type = types.attrsOf (types.submodule service);
      default = { };
      description = "Service units.";
    };
    timers = mkOption {
      type = types.attrsOf (types.submodule timer);
      default = { };
      description = "Timer units.";
    };
    tmpfiles.rules = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "d /var/lib/foo 0755 root root -" ];
      description = "tmpfiles.d(5) lines.";
    };
    sysusers.enable = mkOption {
      type = types.bool;
      default = false;
      description = "Create users with systemd-sysusers instead of the activation script.";
    };
    units = mkOption {
      type = types.attrsOf types.unspecified;
      readOnly = true;
      internal = true;
      description = "The rendered units, by file name: { text, unit (a derivation), wantedBy, ... }.";
    };
  };

  config = {
    systemd.timers = lib.mapAttrs (name: s: {
      wantedBy = [ "timers.target" ];
      timerConfig.OnCalendar = s.startAt;
    }) (lib.filterAttrs (_: s: s.startAt != [ ]) cfg.services);

    systemd.units =
      lib.mapAttrs' (
        name: def: lib.nameValuePair "${name}.service" (makeUnit "${name}.service" def (unitText def "Service" (serviceBody def)))
      ) cfg.services
      // lib.mapAttrs' (
        name: def:
        lib.nameValuePair "${name}.timer" (
          makeUnit "${name}.timer" def (unitText def "Timer" (directives def.timerConfig))
        )
      ) cfg.timers;

    environment.etc."tmpfiles.d/00-nixos.conf".text = lib.concatMapStrings (r: r + "\n") cfg.tmpfiles.rules;

    system.build.units = pkgs.runCommand "system-units" { units = lib.mapAttrsToList (_: u: u.unit) cfg.units; } (
      "mkdir $out\n"
      + lib.concatStrings (
        lib.mapAttrsToList (
          name: u:
          "ln -s ${u.unit}/${name} $out/${name}\n"
          + lib.concatMapStrings (t: "mkdir -p $out/${t}.wants && ln -s ../${name} $out/${t}.wants/\n") u.wantedBy
          + lib.concatMapStrings (t: "mkdir -p $out/${t}.requires && ln -s ../${name} $out/${t}.requires/\n") u.requiredBy
        ) cfg.units
      )
    );
  };
}
