#!/usr/bin/env python3
"""Fail when the modules of src/ import each other in a cycle.

DESIGN.md asks that imports point down the data flow only: no module imports one
that imports it back. This script reads every file module of the library crate,
resolves each path it uses to the module that holds it (`use` trees, and inline
`crate::`, `super::`, `self::` and child-module paths alike; comments and string
literals ignored), and prints every strongly connected group of modules with one
concrete cycle through it. Exit status 1 when there is any.

A module is a file: src/a.rs and src/a/mod.rs are `a`, src/a/b.rs is `a::b`. The
modules are judged folder by folder, the crate root first: within a folder each
child module stands for itself and everything under it, so `notify` importing
`record` while `record::pings` imports `notify` is a cycle of the root. A module
is part of its ancestors, so a child's paths to its parent (`super::Type`) and a
parent's to its children are containment, not imports. Paths into an inline module
(`mod tests { … }`) count for its file.

Usage: tools/module-cycles.py [SRC_DIR]   (default: src)
"""

import re
import sys
from pathlib import Path

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def module_of(src: Path, file: Path) -> tuple:
    """The module path of a file, as a tuple of names; the crate root is ()."""
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib"):
        parts.pop()
    return tuple(parts)


def strip(text: str) -> str:
    """The code with comments, string and char literals blanked out."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            out.append(" ")
        elif m := re.match(r'r(#*)"', text[i:]) if c == "r" and (i == 0 or not re.match(r"\w", text[i - 1])) else None:
            end = '"' + m.group(1)
            j = text.find(end, i + len(m.group(0)))
            i = n if j < 0 else j + len(end)
            out.append('""')
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
        elif c == "'" and re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'", text[i:]):
            m = re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'", text[i:])
            i += len(m.group(0))
            out.append("' '")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def expand_use(tree: str) -> list:
    """`a::{b, c::{d, e}}` as ['a::b', 'a::c::d', 'a::c::e'] (renames and globs dropped)."""
    tree = re.sub(r"\s+", "", re.sub(r"\s+as\s+\w+", "", tree))
    depth, start, items = 0, 0, []
    brace = tree.find("{")
    if brace < 0:
        return [re.sub(r"::\*$", "", tree)] if tree else []
    prefix, inner = tree[:brace], tree[brace + 1 : tree.rfind("}")]
    for k, ch in enumerate(inner + ","):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(inner[start:k])
            start = k + 1
    paths = []
    for item in items:
        if item in ("", "*"):
            continue
        if item == "self":
            paths.append(prefix.rstrip(":"))
        else:
            paths.extend(prefix + p for p in expand_use(item))
    return paths


class Crate:
    def __init__(self, src: Path):
        self.src = src
        self.files = {}
        for file in sorted(src.rglob("*.rs")):
            if file.name == "main.rs" and file.parent == src:
                continue  # the binary: it only calls the library
            self.files[module_of(src, file)] = file
        self.modules = set(self.files)

    def resolve(self, here: tuple, path: str):
        """The longest known module a path points into, from module `here`."""
        segs = [s for s in path.split("::") if s]
        if not segs:
            return None
        head, rest = segs[0], segs[1:]
        if head == "crate":
            base = ()
        elif head == "self":
            base = here
        elif head == "super":
            base = here
            while head == "super":
                base = base[:-1]
                if not rest:
                    break
                head, rest = rest[0], rest[1:]
            if head != "super":
                rest = [head] + rest
        elif here + (head,) in self.modules:
            base, rest = here, segs
        elif here == () and (head,) in self.modules:
            base, rest = (), segs
        else:
            return None  # another crate, a local item or a type's associated path
        found = base
        for seg in rest:
            if found + (seg,) in self.modules:
                found = found + (seg,)
            else:
                break
        return found

    def edges(self):
        """The imports: module -> modules, and for each pair the first path that makes it."""
        graph, why = {m: set() for m in self.modules}, {}
        for here, file in self.files.items():
            code = strip(file.read_text())
            paths = []
            for m in re.finditer(r"\buse\s+([^;]+);", code):
                paths.extend(expand_use(m.group(1)))
            # Inline paths: crate::, super::, self:: and paths into a child module.
            children = {m[-1] for m in self.modules if m[:-1] == here and len(m) == len(here) + 1}
            for m in re.finditer(rf"(?<![\w:])((?:{IDENT})(?:::{IDENT})+)", code):
                p = m.group(1)
                first = p.split("::")[0]
                if first in ("crate", "super", "self") or first in children or (here == () and (first,) in self.modules):
                    paths.append(p)
            for p in paths:
                target = self.resolve(here, p)
                if target is not None and target != here and target != ():
                    graph[here].add(target)
                    why.setdefault((here, target), str(file) + ": " + re.sub(r"\s+", "", p))
        return graph, why


def strongly_connected(graph):
    """Tarjan's algorithm; groups of more than one module, each sorted."""
    index, low, stack, on, groups, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(groups)


def one_cycle(graph, group):
    """A shortest cycle through the group's first module, by breadth-first search."""
    members, start = set(group), group[0]
    parent, queue = {start: None}, [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & members):
            if w == start:
                path = [v]
                while parent[path[-1]] is not None:
                    path.append(parent[path[-1]])
                return [start] + list(reversed(path[:-1])) + [start] if len(path) > 1 else [start, v, start]
            if w not in parent:
                parent[w] = v
                queue.append(w)
    return group


def name(module):
    return "crate::" + "::".join(module) if module else "crate"


def by_folder(graph, why):
    """Per folder, the imports between its child modules (each with what is under it)."""
    folders, reasons = {}, {}
    for a, targets in sorted(graph.items()):
        for b in sorted(targets):
            common = 0
            while common < min(len(a), len(b)) and a[common] == b[common]:
                common += 1
            if common in (len(a), len(b)):
                continue  # one holds the other
            folder, x, y = a[:common], a[: common + 1], b[: common + 1]
            nodes = folders.setdefault(folder, {})
            nodes.setdefault(x, set()).add(y)
            nodes.setdefault(y, set())
            reasons.setdefault((x, y), why[(a, b)])
    return folders, reasons


def cycles_of(nodes, group):
    """A shortest cycle through each module of the group, each cycle named once."""
    seen, found = set(), []
    for start in group:
        cycle = one_cycle(nodes, [start] + [m for m in group if m != start])
        key = frozenset(zip(cycle, cycle[1:]))
        if key not in seen:
            seen.add(key)
            found.append(cycle)
    return found


def main():
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "src")
    graph, why = Crate(src).edges()
    edges = sum(len(v) for v in graph.values())
    folders, reasons = by_folder(graph, why)
    cycles = []
    for folder, nodes in sorted(folders.items()):
        for group in strongly_connected(nodes):
            cycles.append((folder, group, cycles_of(nodes, group)))
    if not cycles:
        print(f"module-cycles: {len(graph)} modules, {edges} imports between them, no cycle")
        return 0
    print(f"module-cycles: {len(cycles)} group(s) of modules that import each other, in {src}:", file=sys.stderr)
    for k, (folder, group, found) in enumerate(cycles, 1):
        where = "the crate root" if not folder else name(folder)
        print(f"  {k}. in {where}: {', '.join(name(m) for m in group)}", file=sys.stderr)
        for cycle in found:
            print(f"     cycle {' -> '.join(name(m) for m in cycle)}", file=sys.stderr)
            for a, b in zip(cycle, cycle[1:]):
                print(f"       {name(a)} -> {name(b)}  ({reasons[(a, b)]})", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
