#!/usr/bin/env python3
"""The engine's folders are layers (docs/engine.md#layers): a file includes, and calls, only its own
folder and the folders below it; no files call or include each other in a circle; a lower layer
reaches a higher one only through a callback handed down (a function pointer, which is no call
here). Also: no .c at the top of ext/ but interactions.c, and no engine file over 600 lines but
util/timefmt.c (the vendors' files under providers/ are not the engine's).

Calls are read from the text: a name followed by "(" inside a function, resolved to the one file
that defines a function of that name without `static` (or the same file). Prints TAP; with
--graph, the file graph (one "a -> b" line per edge) instead; with --walk FUNCTION, the calls back
up along every path from FUNCTION (a call into a folder above, or between files of one circle),
one per caller and callee. --root DIR reads DIR/ext instead (another checkout, to compare)."""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if "--root" in sys.argv[1:-1]:
    ROOT = os.path.abspath(sys.argv[sys.argv.index("--root") + 1])
EXT = os.path.join(ROOT, "ext")

# Top to bottom; folders on one line are one layer (they may use each other, not in a circle).
LAYERS = [
    ["interactions.c"],
    ["providers"],
    ["sql"],
    ["fetch"],
    ["limit", "cache", "auth"],
    ["observe"],
    ["provider"],
    ["json"],
    ["settings"],
    ["util"],
]
RANK = {folder: rank for rank, folders in enumerate(LAYERS) for folder in folders}
MAX_LINES = 600
LONGER_ALLOWED = {"util/timefmt.c"}  # the vendor time formats, whole (docs/engine.md)

DEFINITION = re.compile(
    r"^(static\s+)?(?:inline\s+)?[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)\s*\(([^;{}()]|\([^()]*\))*\)"
    r"\s*\{", re.M)
CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
# Prefixes besides the file's and the folder's: the limiter's files share "rate_" (rate_limiter_admit,
# rate_redis_open), and hash.h's functions are named after the hash (hash64).
NAME_PREFIXES = {"limit": ("rate_",), "util/hash": ("hash64",)}
KEYWORDS = {"if", "for", "while", "switch", "return", "sizeof", "defined", "else", "do"}


def strip(text):
    """The text without comments, strings and character literals (same length of lines)."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif text[i] in "\"'":
            quote, j = text[i], i + 1
            while j < n and text[j] != quote:
                j += 2 if text[j] == "\\" else 1
            out.append(quote + " " * (min(j, n) - i - 1) + quote)
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def files():
    for folder, _, names in os.walk(EXT):
        for name in sorted(names):
            if name.endswith((".c", ".h")):
                path = os.path.relpath(os.path.join(folder, name), EXT)
                yield path.replace(os.sep, "/")


def folder_of(path):
    return path.split("/")[0] if "/" in path else path


def module_of(path):
    """A file's module: its .c and .h together ("fetch/page")."""
    return path.rsplit(".", 1)[0]


def read_all():
    sources = {path: open(os.path.join(EXT, path), encoding="utf-8").read() for path in files()}
    stripped = {path: strip(text) for path, text in sources.items()}
    public, local = {}, {}
    for path, text in stripped.items():
        for match in DEFINITION.finditer(text):
            name = match.group(2)
            if name in KEYWORDS:
                continue
            if match.group(1):
                local.setdefault(path, set()).add(name)
            else:
                public.setdefault(name, set()).add(module_of(path))
    return sources, stripped, public, local


def body_of(text, match):
    """The body of the function whose definition match found."""
    depth, i = 1, match.end()
    while i < len(text) and depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[match.end():i]


def bodies(text):
    """The bodies of the functions defined in text (declarations call nothing)."""
    return "\n".join(body_of(text, match) for match in DEFINITION.finditer(text))


def edges(sources, stripped, public, local):
    """{(from module, to module): [why, ...]} for includes and calls between modules."""
    found = {}
    for path, text in sources.items():
        here = module_of(path)
        for include in INCLUDE.findall(text):
            if os.path.exists(os.path.join(EXT, include)) and module_of(include) != here:
                found.setdefault((here, module_of(include)), []).append("includes " + include)
        for name in set(CALL.findall(bodies(stripped[path]))):
            if name in local.get(path, ()) or name in KEYWORDS:
                continue
            owners = public.get(name, set()) - {here}
            if len(owners) == 1:
                found.setdefault((here, owners.pop()), []).append("calls " + name)
    return found


def cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, out, counter = {}, {}, [], set(), [], [0]
    nodes = sorted({a for a, _ in graph} | {b for _, b in graph})
    succ = {n: sorted(b for a, b in graph if a == n) for n in nodes}

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in succ[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10000)
    for node in nodes:
        if node not in index:
            visit(node)
    return out


def walk(entry, stripped, public, local, graph):
    """The calls back up reachable from the function entry, and the files the walk enters."""
    functions = {}
    for path, text in stripped.items():
        for match in DEFINITION.finditer(text):
            if match.group(2) not in KEYWORDS:
                functions[(path, match.group(2))] = (body_of(text, match), bool(match.group(1)))
    circle_of = {m: i for i, component in enumerate(cycles(graph)) for m in component}

    def resolve(path, name):
        if name in local.get(path, ()):
            return (path, name) if (path, name) in functions else None
        owners = [k for k, (_, is_static) in functions.items() if k[1] == name and not is_static]
        return owners[0] if len(owners) == 1 else None

    starts = [k for k in functions if k[1] == entry]
    seen, todo, up, entered = set(starts), list(starts), set(), set()
    while todo:
        caller = todo.pop()
        entered.add(caller[0])
        for name in sorted(set(CALL.findall(functions[caller][0])) - KEYWORDS):
            callee = resolve(caller[0], name)
            if not callee:
                continue
            a, b = module_of(caller[0]), module_of(callee[0])
            fa, fb = folder_of(caller[0]), folder_of(callee[0])
            higher = fa in RANK and fb in RANK and RANK[fb] < RANK[fa]
            if a != b and (higher or (a in circle_of and circle_of.get(b) == circle_of[a])):
                up.add(f"{caller[0]}:{caller[1]} -> {callee[0]}:{callee[1]}")
            if callee not in seen:
                seen.add(callee)
                todo.append(callee)
    return sorted(up), entered


def misnamed_functions(stripped):
    """Engine functions whose name does not say where they live (the module docstring's rule)."""
    header = strip(open(os.path.join(EXT, "provider", "provider.h"), encoding="utf-8").read())
    for_providers = set(re.findall(r"\b(ix_\w+)\s*\(", header))
    found = []
    for path, text in sorted(stripped.items()):
        folder, module = folder_of(path), module_of(path)
        if folder == "providers" or "/" not in path:
            continue
        prefixes = (os.path.basename(module) + "_", folder + "_") + NAME_PREFIXES.get(folder, ()) \
            + NAME_PREFIXES.get(module, ())
        for match in DEFINITION.finditer(text):
            name = match.group(2)
            if name in KEYWORDS or name in for_providers:
                continue
            if name.startswith("ix_") or (not match.group(1) and not name.startswith(prefixes)):
                found.append(f"{path}: {name}")
    return found


def main():
    sources, stripped, public, local = read_all()
    graph = edges(sources, stripped, public, local)
    if "--walk" in sys.argv[1:-1]:
        up, entered = walk(sys.argv[sys.argv.index("--walk") + 1], stripped, public, local, graph)
        print(f"{len(entered)} files entered, {len(up)} calls back up")
        for line in up:
            print("  " + line)
        return 0
    if "--graph" in sys.argv[1:]:
        for (a, b), why in sorted(graph.items()):
            print(f"{a} -> {b}: {', '.join(sorted(set(why)))}")
        return 0
    results = []

    unknown = sorted({folder_of(p) for p in sources} - set(RANK))
    results.append((not unknown, "every folder of ext/ has a layer in docs/engine.md and here",
                    "no layer: " + ", ".join(unknown)))

    upward = []
    for (a, b), why in sorted(graph.items()):
        fa, fb = folder_of(a + ".c"), folder_of(b + ".c")
        if fa in RANK and fb in RANK and RANK[fb] < RANK[fa]:
            upward.append(f"{a} -> {b} ({RANK[fa]} up to {RANK[fb]}): {', '.join(sorted(set(why)))}")
    results.append((not upward, "no file includes or calls a folder above its own",
                    "\n".join(upward)))

    circles = cycles(graph)
    detail = []
    for component in circles:
        members = set(component)
        ties = [f"  {a} -> {b}: {', '.join(sorted(set(why)))}"
                for (a, b), why in sorted(graph.items()) if a in members and b in members]
        detail.append("circle: " + ", ".join(component) + "\n" + "\n".join(ties))
    results.append((not circles, "no files include or call each other in a circle",
                    "\n".join(detail)))

    top = sorted(p for p in sources if "/" not in p and p.endswith(".c") and p != "interactions.c")
    results.append((not top, "no .c at the top of ext/ but interactions.c", ", ".join(top)))

    long_files = []
    for path, text in sorted(sources.items()):
        lines = text.count("\n")
        if folder_of(path) != "providers" and path not in LONGER_ALLOWED and lines > MAX_LINES:
            long_files.append(f"{path}: {lines} lines")
    results.append((not long_files, f"no engine file over {MAX_LINES} lines but util/timefmt.c",
                    "\n".join(long_files)))

    misnamed = misnamed_functions(stripped)
    results.append((not misnamed, "engine functions carry their file's or folder's prefix; ix_ is "
                    "provider.h's", "\n".join(misnamed)))

    for number, (passed, name, detail) in enumerate(results, 1):
        print(f"{'ok' if passed else 'not ok'} {number} - {name}")
        if not passed:
            for line in detail.splitlines():
                print(f"#   {line}")
    print(f"1..{len(results)}")
    return 0 if all(passed for passed, _, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
