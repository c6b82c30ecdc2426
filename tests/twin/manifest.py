#!/usr/bin/env python3
"""Compares a source tree with a snapshot of it, as a restore would see them.

usage: manifest.py SOURCE SNAPSHOT [--exclude PATTERN]...   prints the differences
       manifest.py --dump TREE [--exclude PATTERN]...        prints TREE's manifest
The differences are one JSON object: for each attribute that differs, the paths where
it does ("missing" for paths not in the snapshot, "extra" for paths only there).
Compared, for every path: type, permission bits (setuid, setgid and sticky included),
owner and group (numeric), size, modification time (ns), SHA-256 of contents, symlink
target, device number, every xattr (POSIX ACLs are the system.posix_acl_* ones), and
which paths of the tree are hard links to each other. Excluded names (fnmatch on the
basename, as rsync matches `*.tmp`) are left out. The NixOS VM test imports this file
and compares manifests dumped on two machines with differences().
"""
import fnmatch
import hashlib
import json
import os
import stat
import sys

TYPES = {stat.S_IFREG: "file", stat.S_IFDIR: "dir", stat.S_IFLNK: "symlink", stat.S_IFIFO: "fifo",
         stat.S_IFSOCK: "socket", stat.S_IFCHR: "char device", stat.S_IFBLK: "block device"}


def manifest(root, excludes):
    entries, inodes = {}, {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not any(fnmatch.fnmatch(d, p) for p in excludes)]
        names = ([""] if dirpath == root else []) + sorted(dirnames + filenames)
        for name in names:
            if name and any(fnmatch.fnmatch(name, p) for p in excludes):
                continue
            path = os.path.join(dirpath, name) if name else dirpath
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            kind = TYPES[stat.S_IFMT(st.st_mode)]
            entry = {"type": kind, "mode": oct(stat.S_IMODE(st.st_mode)), "owner": st.st_uid,
                     "group": st.st_gid, "mtime": st.st_mtime_ns}
            if kind == "file":
                entry["size"] = st.st_size
                with open(path, "rb") as f:
                    entry["sha256"] = hashlib.file_digest(f, "sha256").hexdigest()
                inodes.setdefault((st.st_dev, st.st_ino), []).append(rel)
            if kind == "symlink":
                entry["target"] = os.readlink(path)
            if kind in ("char device", "block device"):
                entry["device"] = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
            if kind != "symlink":
                for attr in sorted(os.listxattr(path, follow_symlinks=False)):
                    entry[f"xattr {attr}"] = os.getxattr(path, attr, follow_symlinks=False).hex()
            entries[rel] = entry
    # Hard links within the tree (a snapshot's files also link to older snapshots).
    for group in inodes.values():
        for rel in group[1:] if len(group) > 1 else []:
            entries[rel]["hard link to"] = group[0]
    return entries


def differences(a, b):
    found = {}
    for path in sorted(set(a) | set(b)):
        if path not in b:
            found.setdefault("missing", []).append(f"{path} ({a[path]['type']})")
        elif path not in a:
            found.setdefault("extra", []).append(path)
        else:
            for key in sorted(set(a[path]) | set(b[path])):
                if a[path].get(key) != b[path].get(key):
                    found.setdefault(key, []).append(path)
    return found


def main():
    args = sys.argv[1:]
    excludes = [args[i + 1] for i, a in enumerate(args) if a == "--exclude"]
    if args[0] == "--dump":
        result = manifest(args[1], excludes)
    else:
        result = differences(manifest(args[0], excludes), manifest(args[1], []))
    json.dump(result, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
