# The stand-in's package set: exactly the packages and builders that this flake, its
# module and VM test, and sops-nix use. Every package is a derivation that Nix
# instantiates (so store paths, references and `nix flake check --no-build` are real) and
# nothing ever builds. A name that is not here is an error, as it would be in nixpkgs.
#
# Each derivation carries `standIn`, which tells the unit twin (tests/twin) how to make
# its output on a Debian machine instead of building it:
#   debian   a program Debian ships: the output is a view of /usr
#   text     a file (or a script) whose text is in the derivation
#   command  a runCommand: its buildCommand is run with bash
#   rust     this project's package: the binary built by cargo, then its postInstall
#   none     nothing the twin needs (a shell, a check, a test driver)
{
  lib,
  system,
  nixosSystem,
}:
let
  platform = {
    inherit system;
    isLinux = lib.hasSuffix "-linux" system;
    isDarwin = lib.hasSuffix "-darwin" system;
    isx86_64 = lib.hasPrefix "x86_64-" system;
    isAarch64 = lib.hasPrefix "aarch64-" system;
    # Builds here are never cross: a platform runs its own programs.
    canExecute = other: other.system == system;
  };

  # What builtins.derivation can take: strings, numbers, booleans, paths, derivations (and
  # sources such as lib.fileset.toSource's, which are string-like) and lists of them.
  # Functions (overrideAttrs), plain attribute sets (meta, passthru) and nulls stay on the
  # Nix value only, as stdenv does with meta and passthru: they become null, which
  # builtins.derivation leaves out. Which attributes the derivation has is known without
  # evaluating any value, as in nixpkgs, so a value may refer to the package's passthru
  # (tmpfiles.nix's etc."tmpfiles.d" reads system.build.etc.passthru.targets).
  serialisable =
    v:
    lib.isStringLike v
    || builtins.isInt v
    || builtins.isBool v
    || (builtins.isList v && lib.all serialisable v);

  mkDerivation =
    attrs:
    let
      name = attrs.name or "${attrs.pname}-${attrs.version}";
      env = lib.mapAttrs (_: v: if serialisable v then v else null) (
        removeAttrs attrs [
          "meta"
          "passthru"
        ]
      );
      drv = derivation (
        {
          standIn = "none";
        }
        // env
        // {
          inherit name system;
          # Never run: the stand-in's packages are instantiated, not built.
          builder = "/bin/sh";
          args = [
            "-c"
            "echo 'a stand-in derivation of tests/nix cannot be built' >&2; exit 1"
          ];
        }
      );
    in
    drv
    // (attrs.passthru or { })
    // {
      inherit name attrs;
      passthru = attrs.passthru or { };
      meta = attrs.meta or { };
      overrideAttrs =
        f:
        let
          new = if lib.isFunction (f attrs) then f attrs attrs else f attrs;
        in
        mkDerivation (attrs // new);
    }
    // lib.optionalAttrs (attrs ? pname) { inherit (attrs) pname; }
    // lib.optionalAttrs (attrs ? version) { inherit (attrs) version; };

  # A program Debian ships, and the Debian package the twin's trixie root takes it from.
  debian =
    pname: version: debianPackage:
    mkDerivation {
      inherit pname version debianPackage;
      standIn = "debian";
      meta.mainProgram = pname;
    };

  writeTextFile =
    {
      name,
      text,
      executable ? false,
      destination ? "",
      checkPhase ? "",
      meta ? { },
      passthru ? { },
      ...
    }:
    mkDerivation {
      inherit
        name
        text
        executable
        destination
        checkPhase
        meta
        passthru
        ;
      standIn = "text";
    };

  runCommandWith =
    name: env: buildCommand:
    mkDerivation (
      {
        inherit name buildCommand;
        standIn = "command";
      }
      // env
    );

  python3 = debian "python3" "3.13" "python3" // {
    pkgs = pythonPackages;
    withPackages =
      f:
      mkDerivation {
        name = "python3-with-packages";
        paths = f pythonPackages;
        standIn = "debian";
        debianPackage = "python3";
      };
  };
  pythonPackages = {
    aiosmtpd = debian "aiosmtpd" "1.4.6" "python3-aiosmtpd";
    feedparser = debian "feedparser" "6.0.11" "python3-feedparser";
  };

  # The crates of a Cargo.lock as fixed-output downloads, as nixpkgs' importCargoLock
  # makes them: a lock file that does not parse, or a git dependency without an output
  # hash, fails here as it would there.
  importCargoLock =
    { lockFile, outputHashes ? { } }:
    let
      lock = builtins.fromTOML (builtins.readFile lockFile);
      crate =
        p:
        if lib.hasPrefix "registry+" (p.source or "") then
          fetchurl {
            name = "crate-${p.name}-${p.version}.tar.gz";
            url = "https://crates.io/api/v1/crates/${p.name}/${p.version}/download";
            sha256 = p.checksum;
          }
        else if lib.hasPrefix "git+" (p.source or "") then
          outputHashes."${p.name}-${p.version}"
            or (throw "importCargoLock: no outputHashes entry for the git dependency ${p.name}-${p.version}")
        else
          null;
    in
    mkDerivation {
      name = "cargo-vendor-dir";
      crates = lib.filter (c: c != null) (map crate lock.package);
      inherit lockFile;
    };

  fetchurl =
    {
      name,
      url,
      sha256,
    }:
    derivation {
      inherit name system url;
      builder = "builtin:fetchurl";
      outputHashMode = "flat";
      outputHashAlgo = "sha256";
      outputHash = sha256;
      standIn = "none";
    };

  pkgs = lib.makeScope lib.callPackageWith (self: {
    inherit lib pkgs;
    stdenv = {
      hostPlatform = platform;
      buildPlatform = platform;
      inherit (platform) isLinux isDarwin;
      inherit mkDerivation;
    };

    # Builders.
    inherit writeTextFile;
    writeText =
      name: text:
      writeTextFile {
        inherit name text;
      };
    writeScript =
      name: text:
      writeTextFile {
        inherit name text;
        executable = true;
      };
    writeShellScript =
      name: text:
      writeTextFile {
        inherit name;
        executable = true;
        text = "#!${self.bash}/bin/bash\n${text}";
      };
    writeShellScriptBin =
      name: text:
      writeTextFile {
        inherit name;
        executable = true;
        destination = "/bin/${name}";
        text = "#!${self.bash}/bin/bash\n${text}";
        meta.mainProgram = name;
      };
    writeTextDir =
      path: text:
      writeTextFile {
        inherit text;
        name = baseNameOf path;
        destination = "/${path}";
      };
    writeShellApplication =
      {
        name,
        text,
        runtimeInputs ? [ ],
        ...
      }:
      writeTextFile {
        inherit name;
        executable = true;
        destination = "/bin/${name}";
        text = "#!${self.bash}/bin/bash\nset -o errexit -o nounset -o pipefail\nexport PATH=${lib.makeBinPath runtimeInputs}:$PATH\n${text}";
        meta.mainProgram = name;
      };
    symlinkJoin =
      {
        name,
        paths,
        postBuild ? "",
        ...
      }:
      runCommandWith name { inherit paths; } "mkdir -p $out\nfor p in $paths; do cp -rs --no-preserve=mode \"$p\"/. $out/; done\n${postBuild}";
    linkFarm =
      name: entries:
      runCommandWith name { } (
        "mkdir -p $out\n"
        + lib.concatMapStrings (e: "mkdir -p \"$(dirname $out/${e.name})\"; ln -s ${e.path} $out/${e.name}\n") entries
      );
    xorg.lndir = debian "lndir" "1.0" "xutils-dev";
    buildPackages = {
      inherit (self) xorg;
    };
    runCommand = runCommandWith;
    runCommandLocal = runCommandWith;
    mkShell =
      {
        name ? "nix-shell",
        packages ? [ ],
        inputsFrom ? [ ],
        ...
      }@args:
      mkDerivation (
        removeAttrs args [ "inputsFrom" ]
        // {
          inherit name;
          nativeBuildInputs =
            packages ++ lib.concatMap (d: d.attrs.nativeBuildInputs or [ ] ++ d.attrs.buildInputs or [ ]) inputsFrom;
        }
      );
    rustPlatform.buildRustPackage =
      {
        cargoLock,
        nativeBuildInputs ? [ ],
        ...
      }@args:
      mkDerivation (
        removeAttrs args [ "cargoLock" ]
        // {
          standIn = "rust";
          cargoDeps = importCargoLock cargoLock;
          nativeBuildInputs = [
            self.cargo
            self.rustc
          ]
          ++ nativeBuildInputs;
        }
      );
    buildGo125Module =
      args:
      mkDerivation (
        args
        // {
          nativeBuildInputs = [ self.go ] ++ args.nativeBuildInputs or [ ];
        }
      );
    makeWrapper = mkDerivation {
      name = "make-wrapper-hook";
    };

    testers.runNixOSTest = test: import ./nixos/testing.nix { inherit lib pkgs nixosSystem test; };
    nixosTest = self.testers.runNixOSTest;

    # Programs, as Debian trixie ships them (the twin's root has those that run).
    bash = debian "bash" "5.2" "bash";
    coreutils = debian "coreutils" "9.7" "coreutils";
    findutils = debian "findutils" "4.10" "findutils";
    gnugrep = debian "gnugrep" "3.11" "grep";
    gnused = debian "gnused" "4.9" "sed";
    util-linux = debian "util-linux" "2.41" "util-linux";
    # With nixpkgs' passthru that systemd.nix reads: which upstream units it ships.
    systemd = debian "systemd" "257" "systemd" // {
      inherit (self) util-linux;
      withBootloader = true;
      withCryptsetup = true;
      withEfi = true;
      withHostnamed = true;
      withImportd = true;
      withLocaled = true;
      withMachined = true;
      withPortabled = false;
      withTimedated = true;
      withTpm2Units = true;
      withUtmp = true;
    };
    openssh = debian "openssh" "10.0" "openssh-client";
    rsync = debian "rsync" "3.4" "rsync";
    nginx = debian "nginx" "1.26" "nginx";
    curl = debian "curl" "8.14" "curl";
    jq = debian "jq" "1.7" "jq";
    acl = debian "acl" "2.3" "acl";
    attr = debian "attr" "2.5" "attr";
    libcap = debian "libcap" "2.75" "libcap2-bin";
    sqlite = debian "sqlite" "3.46" "sqlite3";
    btrfs-progs = debian "btrfs-progs" "6.14" "btrfs-progs";
    inherit python3;
    python3Packages = pythonPackages;
    age = debian "age" "1.2" "age";
    gnupg = debian "gnupg" "2.4" "gnupg";
    go = debian "go" "1.25" "golang-go";
    cargo = debian "cargo" "1.85" "cargo";
    rustc = debian "rustc" "1.85" "rustc";
    clippy = debian "clippy" "1.85" "rust-clippy";
    rustfmt = debian "rustfmt" "1.85" "rustfmt";
    shellcheck = debian "shellcheck" "0.10" "shellcheck";
    chromium = debian "chromium" "140" "chromium";
    prometheus = debian "prometheus" "2.53" "prometheus";
    nixfmt = debian "nixfmt" "1.0" "nixfmt";
  });
in
pkgs
