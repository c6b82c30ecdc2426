#!/usr/bin/env python3
"""Writes the README's two NixOS examples as flakes a user would have.

usage: readme-examples.py README.md DIR
The first ```nix block of "## On NixOS" (lines of configuration.nix) goes into
DIR/minimal/flake.nix inside a nixosSystem; the second (a whole flake.nix) into
DIR/full/flake.nix as it is; the ```nix block of "## Pings" (more lines of
configuration.nix) with the minimal one's into DIR/pings/flake.nix. All define
nixosConfigurations.nas. Fails when a section or a block is missing, or when the minimal
example is not tests/nix/readme-minimal.nix's, so the README cannot drift from what is tested.
"""
import re
import sys
from pathlib import Path

readme, out = Path(sys.argv[1]), Path(sys.argv[2])


def nix_blocks(title):
    section = readme.read_text().split(f"\n## {title}\n", 1)
    if len(section) != 2:
        sys.exit(f"{readme}: no '## {title}' section")
    return re.findall(r"```nix\n(.*?)```", section[1].split("\n## ", 1)[0], re.S)


blocks = nix_blocks("On NixOS")
if len(blocks) < 2:
    sys.exit(f"{readme}: '## On NixOS' has {len(blocks)} nix blocks, expected the minimal and the full example")
minimal, full = blocks[0], blocks[1]
# tests/nix/eval.nix evaluates the minimal example from its own copy, which must be it.
copy = Path(__file__).with_name("readme-minimal.nix").read_text()
if copy.split("\n{\n", 1)[1].rsplit("}", 1)[0] != minimal:
    sys.exit(f"{readme}: the minimal example of '## On NixOS' differs from tests/nix/readme-minimal.nix")
pings = nix_blocks("Pings: knowing at once when backups stop")
if len(pings) != 1:
    sys.exit(f"{readme}: '## Pings' has {len(pings)} nix blocks, expected the notify example")

wrapper = """{
  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";
    sops-nix.url = "github:Mic92/sops-nix";
    backup-server.url = "git+https://your.git.host/backup-server";
  };
  outputs = { nixpkgs, backup-server, ... }: {
    nixosConfigurations.nas = nixpkgs.lib.nixosSystem {
      system = "x86_64-linux";
      modules = [
        ({ ... }: {
%s
        })
      ];
    };
  };
}
"""
for name, text in [
    ("minimal", wrapper % minimal),
    ("full", full),
    ("pings", wrapper % (minimal + pings[0])),
]:
    (out / name / "secrets").mkdir(parents=True, exist_ok=True)
    (out / name / "flake.nix").write_text(text)
