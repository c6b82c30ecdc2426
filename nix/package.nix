# backup-server, built from this repository. The step scripts go to
# libexec/backup-server (where the binary looks for them), and the binary and the
# scripts have the tools they use pinned on their PATH, so a run needs nothing from the
# environment.
{
  lib,
  stdenv,
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
      ../docs
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

  # The binary runs ssh itself (an SSH target's snapshots.sh) and the scripts run rsync,
  # ssh and coreutils: all of them pinned, so a run needs nothing from the service's PATH.
  # snapshots.sh is not wrapped: its text is what goes to an SSH target (`sh -s`).
  postInstall =
    let
      path = lib.makeBinPath [
        bash
        coreutils
        findutils
        openssh
        rsync
        util-linux
      ];
    in
    ''
      install -Dm644 scripts/snapshot-guards.sh $out/libexec/backup-server/snapshot-guards.sh
      install -Dm755 scripts/snapshots.sh $out/libexec/backup-server/snapshots.sh
      for script in backup.sh replay.sh sync_backup_to_remote.sh; do
        install -Dm755 scripts/$script $out/libexec/backup-server/$script
        wrapProgram $out/libexec/backup-server/$script --set PATH ${path}
      done
      wrapProgram $out/bin/backup-server --prefix PATH : ${path}
      install -Dm644 README.md $out/share/doc/backup-server/README.md
      cp -r docs $out/share/doc/backup-server/docs
    ''
    # Completions and man pages, generated from the binary's own command line (it must
    # run on the build machine).
    + lib.optionalString (stdenv.buildPlatform.canExecute stdenv.hostPlatform) ''
      mkdir -p $out/share/bash-completion/completions $out/share/zsh/site-functions \
        $out/share/fish/vendor_completions.d
      $out/bin/backup-server generate completions bash >$out/share/bash-completion/completions/backup-server
      $out/bin/backup-server generate completions zsh >$out/share/zsh/site-functions/_backup-server
      $out/bin/backup-server generate completions fish >$out/share/fish/vendor_completions.d/backup-server.fish
      $out/bin/backup-server generate man $out/share/man/man1
    '';

  meta = {
    description = "Dated rsync snapshots, pruned, mirrored over SSH, reported by email, with static history pages";
    mainProgram = "backup-server";
    platforms = lib.platforms.linux;
  };
}
