#!/usr/bin/env python3
"""Makes the outputs of stand-in derivations on a Debian machine, without building them.

usage: realise.py BINARY DRV...   (prints {DRV: its output path} as JSON)
Run inside the trixie root after the evaluation wrote the .drv files to /nix/store. For
each DRV, and for every input derivation whose output path its content refers to (the
runtime references, found as Nix finds them: by the path appearing in the text), the
output is made at its real store path according to the derivation's `standIn`
(tests/nix/stand-in/pkgs.nix):
  debian   a directory whose bin/ links the programs of the Debian package it names
  text     the file (or script) from `text`, at `destination`
  command  `buildCommand` run with bash, with the derivation's environment (and its
           passAsFile attributes in files, as Nix passes them)
  rust     BINARY (cargo's build of this checkout) as bin/backup-server, then the
           derivation's own `postInstall`, with makeWrapper's wrapProgram
Anything else is an error: the twin runs only what it can make faithfully.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

binary, roots = sys.argv[1], sys.argv[2:]
shown = subprocess.run(["nix", "derivation", "show", "-r", *roots], capture_output=True, text=True)
if shown.returncode != 0:
    sys.exit(shown.stderr)
drvs = json.loads(shown.stdout)
drvs = {(k if k.startswith("/nix/store/") else "/nix/store/" + k): v for k, v in drvs.items()}

# makeWrapper's wrapProgram, for the options the package uses (--set, --prefix).
WRAP = r"""
wrapProgram() {
	local prog=$1 wrapped
	wrapped="$(dirname "$prog")/.$(basename "$prog")-wrapped"
	mv "$prog" "$wrapped"
	shift
	{
		echo '#! /usr/bin/bash -e'
		while (($#)); do
			case $1 in
			--set) printf 'export %s=%q\n' "$2" "$3" ;;
			--prefix) printf 'export %s=%q${%s:+%q}${%s}\n' "$2" "$4" "$2" "$3" "$2" ;;
			*) echo "wrapProgram: $1 is not supported here" >&2; exit 1 ;;
			esac
			if [[ $1 == --set ]]; then shift 3; else shift 4; fi
		done
		printf 'exec -a "$0" %q "$@"\n' "$wrapped"
	} >"$prog"
	chmod +x "$prog"
}
"""


def out_path(drv):
    return drvs[drv]["outputs"]["out"]["path"]


def realise(drv):
    info = drvs[drv]
    out = Path(out_path(drv))
    if out.exists() or out.is_symlink():
        return
    env = info["env"]
    kind = env.get("standIn", "none")
    content = " ".join(env.get(k, "") for k in ("text", "buildCommand", "postInstall"))
    for dep in info["inputDrvs"]:
        dep = dep if dep.startswith("/nix/store/") else "/nix/store/" + dep
        if dep in drvs and out_path(dep) in content:
            realise(dep)
    if kind == "debian":
        # Only the programs of the Debian package the stand-in names, as the Nix package
        # has only its own: a unit whose PATH lacks a program fails here as on NixOS.
        files = subprocess.run(["dpkg", "-L", env["debianPackage"]], capture_output=True, text=True, check=True)
        (out / "bin").mkdir(parents=True)
        for line in files.stdout.splitlines():
            program = Path(line)
            if str(program.parent) in ("/bin", "/sbin", "/usr/bin", "/usr/sbin") and program.exists():
                link = out / "bin" / program.name
                if not link.is_symlink():
                    link.symlink_to(program)
        for name in ("lib", "share"):
            (out / name).symlink_to(f"/usr/{name}")
    elif kind == "text":
        target = Path(str(out) + env.get("destination", ""))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(env["text"])
        target.chmod(0o555 if env.get("executable") == "1" else 0o444)
    elif kind in ("command", "rust"):
        with tempfile.TemporaryDirectory() as build:
            environment = dict(env, out=str(out), PATH="/usr/bin:/usr/sbin", HOME="/homeless-shelter", NIX_BUILD_TOP=build)
            # passAsFile, as Nix does it: each named attribute in a file, its path in NAMEPath.
            for name in env.get("passAsFile", "").split():
                path = Path(build) / f".attr-{name}"
                path.write_text(environment.pop(name, ""))
                environment[f"{name}Path"] = str(path)
            if kind == "command":
                script, cwd = env["buildCommand"], build
            else:
                (out / "bin").mkdir(parents=True)
                shutil.copy(binary, out / "bin" / "backup-server")
                script, cwd = WRAP + env.get("postInstall", ""), env["src"]
            subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=environment, check=True)
    else:
        sys.exit(f"realise.py: cannot make {out} (standIn = {kind}) on Debian")


for root in roots:
    realise(root)
json.dump({root: out_path(root) for root in roots}, sys.stdout)
