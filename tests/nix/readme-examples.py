#!/usr/bin/env python3
"""Writes the documentation's three NixOS examples as flakes a user would have.

usage: readme-examples.py README.md DIR
The first ```nix block of the README's "## On NixOS" (lines of configuration.nix) goes into
DIR/minimal/flake.nix inside a nixosSystem; the first ```nix block of "## A full example" in
docs/nixos.md (a whole flake.nix) into DIR/full/flake.nix as it is; the ```nix block of
"## Pings: knowing at once when backups stop" in docs/monitoring.md (more lines of
configuration.nix) with the minimal one's into DIR/pings/flake.nix. All define
nixosConfigurations.nas. Fails when a page, a section or a block is missing, or when the
minimal example is not tests/nix/readme-minimal.nix's, so the docs cannot drift from what is
tested. docs/ is found beside README.md.
"""
import re
import sys
from pathlib import Path

readme, out = Path(sys.argv[1]), Path(sys.argv[2])
docs = readme.parent / "docs"


def nix_blocks(page, title):
    section = page.read_text().split(f"\n## {title}\n", 1)
    if len(section) != 2:
        sys.exit(f"{page}: no '## {title}' section")
    return re.findall(r"```nix\n(.*?)```", section[1].split("\n## ", 1)[0], re.S)


blocks = nix_blocks(readme, "On NixOS")
if not blocks:
    sys.exit(f"{readme}: '## On NixOS' has no nix block, expected the minimal example")
minimal = blocks[0]
# tests/nix/eval.nix evaluates the minimal example from its own copy, which must be it.
copy = Path(__file__).with_name("readme-minimal.nix").read_text()
if copy.split("\n{\n", 1)[1].rsplit("}", 1)[0] != minimal:
    sys.exit(f"{readme}: the minimal example of '## On NixOS' differs from tests/nix/readme-minimal.nix")
full = nix_blocks(docs / "nixos.md", "A full example")
if len(full) != 1:
    sys.exit(f"{docs / 'nixos.md'}: '## A full example' has {len(full)} nix blocks, expected the full flake")
pings = nix_blocks(docs / "monitoring.md", "Pings: knowing at once when backups stop")
if len(pings) != 1:
    sys.exit(f"{docs / 'monitoring.md'}: '## Pings' has {len(pings)} nix blocks, expected the notify example")

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
    ("full", full[0]),
    ("pings", wrapper % (minimal + pings[0])),
]:
    (out / name / "secrets").mkdir(parents=True, exist_ok=True)
    (out / name / "flake.nix").write_text(text)
