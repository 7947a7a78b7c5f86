#!/usr/bin/env python3
"""The repository's references resolve inside the repository. Every document a comment, test or
page cites (`docs/libcurl.md#global-init`, `README.md#configuration`, a Markdown link) must exist,
and so must the `#section` it names (GitHub's heading anchors). Nothing may cite a document that is
not in the repository (the old engineering notes, the SPEC, seed files, paths on one machine).
Prints TAP. IX_DOCS_ROOT checks another tree (used to see this test fail on an older one)."""
import os
import re
import sys

ROOT = os.environ.get("IX_DOCS_ROOT") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__))))
from sandbox_process import print_tap  # noqa: E402

# Where references live: sources, tests, build files, documentation. Generated data, fixtures and
# fuzz inputs are not prose.
SCANNED = ("ext", "tests", "docs", "bench", "tools", "examples", "sql", "Makefile", "README.md",
           ".clang-format")
SKIPPED_DIRS = {"fixtures", "regressions", "seeds", "__pycache__"}
TEXT_SUFFIXES = (".c", ".h", ".py", ".t", ".md", ".mk", ".sh", ".sql", ".case", ".env", ".txt")
THIS_FILE = os.path.join("tests", "docs.t")

# Documents that are not in the repository, however they are spelt.
OUTSIDE = (
    (re.compile(r"engineering[- ]notes", re.I), "the engineering notes"),
    (re.compile(r"\bSPEC\b"), "the SPEC"),
    (re.compile(r"\banchors\.md\b"), "anchors.md"),
    (re.compile(r"shared/(docs|seeds)"), "the shared documents"),
    (re.compile(r"\bseeds?[/ ]0\d\d"), "a seed file"),
    (re.compile(r"/work/"), "a path on one machine"),
)
# A bare citation: a path ending in .md, optionally with #anchor, not part of a URL (a link's text
# is not one: its target is checked).
CITATION = re.compile(r"(?<![\w/.:\[-])((?:\.{1,2}/)*(?:[\w-]+/)*[\w.-]+\.md)(?!\w)(#[\w-]+)?")
# A Markdown link target.
LINK = re.compile(r"\]\(([^)\s]+)\)")


def scanned_files():
    for entry in SCANNED:
        path = os.path.join(ROOT, entry)
        if os.path.isfile(path):
            yield entry
        for directory, subdirs, files in os.walk(path):
            subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED_DIRS)
            for name in sorted(files):
                relative = os.path.relpath(os.path.join(directory, name), ROOT)
                if relative != THIS_FILE and (name.endswith(TEXT_SUFFIXES) or name == "Makefile"):
                    yield relative


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|\[([^]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path, cache={}):  # noqa: B006 - a deliberate per-run cache
    if path not in cache:
        found, seen, fenced = set(), {}, False
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("```"):
                    fenced = not fenced
                match = None if fenced else re.match(r"#{1,6} (.+)", line)
                if match:
                    base = slug(match.group(1))
                    count = seen.get(base, 0)
                    seen[base] = count + 1
                    found.add(base if count == 0 else f"{base}-{count}")
        cache[path] = found
    return cache[path]


def resolve(source, target, relative_to_file):
    """The problem with one reference, or None. A citation in code is relative to the repository's
    root; a Markdown link (and a citation in a Markdown page) may be relative to its own page."""
    path, _, anchor = target.partition("#")
    bases = [os.path.dirname(os.path.join(ROOT, source))] if relative_to_file else []
    bases.append(ROOT)
    candidates = [os.path.normpath(os.path.join(base, path)) for base in bases] if path else \
        [os.path.join(ROOT, source)]
    existing = [c for c in candidates if os.path.exists(c)]
    if not existing:
        return f"{target}: no such file in the repository"
    if not all(c.startswith(os.path.normpath(ROOT) + os.sep) for c in existing):
        return f"{target}: outside the repository"
    if anchor and existing[0].endswith(".md") and anchor not in anchors(existing[0]):
        return f"{target}: {os.path.relpath(existing[0], ROOT)} has no section #{anchor}"
    return None


def main():
    results = []
    references = 0
    for source in scanned_files():
        with open(os.path.join(ROOT, source), encoding="utf-8", errors="replace") as handle:
            text = handle.read()
        is_markdown = source.endswith(".md")
        problems = []
        for number, line in enumerate(text.splitlines(), 1):
            for pattern, what in OUTSIDE:
                if pattern.search(line):
                    problems.append(f"line {number}: cites {what}, which is not in the repository: "
                                    f"{line.strip()[:120]}")
            targets = [m.group(1) + (m.group(2) or "") for m in CITATION.finditer(line)]
            if is_markdown:
                targets += [t for t in LINK.findall(line)
                            if not re.match(r"[a-z]+:", t) and (".md" in t or t.startswith("#"))]
            for target in targets:
                references += 1
                problem = resolve(source, target, is_markdown)
                if problem:
                    problems.append(f"line {number}: {problem}")
        if problems:
            results.append((False, f"{source}: every reference resolves", "\n".join(problems)))
    results.append((references >= 20, f"{references} references checked", ""))
    docs = os.path.join(ROOT, "docs")
    for page in ("sqlite-virtual-tables.md", "libcurl.md", "vendors.md", "adding-a-vendor.md",
                 "engine.md"):
        results.append((os.path.isfile(os.path.join(docs, page)), f"docs/{page} exists", ""))
    results.append((len(results) > 0 and all(r[0] for r in results),
                    "no reference to a missing document or section, none outside the repository",
                    ""))
    return print_tap(results)


if __name__ == "__main__":
    sys.exit(main())
