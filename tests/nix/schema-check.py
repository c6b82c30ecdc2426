#!/usr/bin/env python3
"""The config schema, seen from both ends, must agree.

usage: schema-check.py KEYS NOT-RENDERED CONFIG.json...
KEYS is `backup-server generate keys` (every key the checker accepts, as dotted paths);
the CONFIGs are what the NixOS module renders for its scenarios and samples. Every key
the checker accepts must be rendered by some scenario, or be listed in NOT-RENDERED with
why the module leaves it out; every key rendered must be accepted (check-config says so
too); a key listed as not rendered must not be rendered, nor be unknown.
"""
import json
import sys

keys_file, not_rendered_file, *configs = sys.argv[1:]
accepted = set(open(keys_file).read().split())
not_rendered = {}
for line in open(not_rendered_file):
    line = line.strip()
    if line and not line.startswith("#"):
        key, _, why = line.partition(" ")
        not_rendered[key] = why.strip()


def paths(value, prefix=""):
    if isinstance(value, dict):
        for key, inner in value.items():
            path = f"{prefix}{key}"
            yield path
            yield from paths(inner, f"{path}.")
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for inner in value:
            yield from paths(inner, prefix[:-1] + "[].")


rendered = set()
for config in configs:
    rendered.update(paths(json.load(open(config))))

problems = []
problems += [f"{k}: the checker accepts it, but no scenario of the module renders it (or list it in {not_rendered_file}, saying why)"
             for k in sorted(accepted - rendered - not_rendered.keys())]
problems += [f"{k}: the module renders it, but the checker does not know it" for k in sorted(rendered - accepted)]
problems += [f"{k}: listed as not rendered, but a scenario renders it" for k in sorted(not_rendered.keys() & rendered)]
problems += [f"{k}: listed as not rendered, but the checker does not know it" for k in sorted(not_rendered.keys() - accepted)]
problems += [f"{k}: listed without a reason" for k, why in sorted(not_rendered.items()) if not why]
if problems:
    sys.exit("nix: the config schema disagrees between the checker and the module:\n  " + "\n  ".join(problems))
print(f"nix: the checker's {len(accepted)} keys and the module agree: {len(accepted & rendered)} rendered, "
      f"{len(not_rendered)} left out on purpose")
