# shellcheck shell=bash
# make_scratch WORK: lays out what tests/nix/in-trixie binds at /work: WORK/src (the
# checkout's files: tracked and untracked, not ignored), WORK/nixpkgs (the stand-in with
# nixpkgs' real lib and NixOS's own systemd modules), WORK/sops-nix (the real one), WORK/out and WORK/nix (the store).
# The inputs come from shared/nix-inputs ($BACKUP_SERVER_NIX_INPUTS), checked first.
# Sourced by tests/nix/run and tests/twin/run, from the checkout's top.
make_scratch() {
	local work=$1 inputs=${BACKUP_SERVER_NIX_INPUTS:-$PWD/../shared/nix-inputs}
	if [[ ! -f $inputs/SHA256SUMS ]]; then
		echo "FAILED: no nix-inputs at $inputs (set BACKUP_SERVER_NIX_INPUTS)" >&2
		return 1
	fi
	(cd "$inputs" && sha256sum --quiet -c SHA256SUMS)
	mkdir -p "$work/src" "$work/nixpkgs" "$work/sops-nix" "$work/out" "$work/nix"
	git ls-files -z --cached --others --exclude-standard |
		rsync -a --from0 --files-from=- --ignore-missing-args ./ "$work/src/"
	cp -r tests/nix/stand-in/. "$work/nixpkgs/"
	tar -xJf "$inputs/nixpkgs-lib.tar.xz" -C "$work/nixpkgs" lib
	# NixOS's own systemd modules, beside the stand-in's nixos/ files that import them.
	tar -xJf "$inputs/nixos-systemd-subset.tar.xz" -C "$work/nixpkgs" nixos
	tar -xJf "$inputs/sops-nix.tar.xz" -C "$work/sops-nix"
}
