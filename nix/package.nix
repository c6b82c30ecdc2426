# backup-server, built from this repository. The step scripts go to
# libexec/backup-server (where the binary looks for them) with the tools they use
# pinned on their PATH, so a run needs nothing from the environment.
{
  lib,
  rustPlatform,
  makeWrapper,
  bash,
  coreutils,
  findutils,
  openssh,
  rsync,
  util-linux,
}:
let
  cargoToml = builtins.fromTOML (builtins.readFile ../Cargo.toml);
in
rustPlatform.buildRustPackage {
  pname = "backup-server";
  inherit (cargoToml.package) version;

  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../Cargo.toml
      ../Cargo.lock
      ../README.md
      ../src
      ../scripts
      ../site
    ];
  };
  cargoLock.lockFile = ../Cargo.lock;

  nativeBuildInputs = [ makeWrapper ];

  # The unit tests run here; the integration tests need sshd, an SMTP server, nginx
  # and Chromium, and run in tools/test.sh and the NixOS VM tests.
  cargoTestFlags = [ "--lib" ];

  postInstall = ''
    install -Dm644 scripts/snapshot-guards.sh $out/libexec/backup-server/snapshot-guards.sh
    for script in backup.sh delete_old_backups.sh sync_backup_to_remote.sh; do
      install -Dm755 scripts/$script $out/libexec/backup-server/$script
      wrapProgram $out/libexec/backup-server/$script --set PATH ${
        lib.makeBinPath [
          bash
          coreutils
          findutils
          openssh
          rsync
          util-linux
        ]
      }
    done
    install -Dm644 README.md $out/share/doc/backup-server/README.md
  '';

  meta = {
    description = "Dated rsync snapshots, pruned, mirrored over SSH, reported by email, with static history pages";
    mainProgram = "backup-server";
    platforms = lib.platforms.linux;
  };
}
