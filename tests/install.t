#!/usr/bin/env python3
"""make install / make uninstall into a temporary DESTDIR: the library lands where a bare
`.load interactions` finds it (here through LD_LIBRARY_PATH, the same search dlopen does for the
system directory), and uninstall removes everything install put there. Prints TAP."""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from sandbox_process import print_tap, run_sqlite  # noqa: E402


def make(*arguments):
    return subprocess.run(["make", "-s", "-C", ROOT] + list(arguments), capture_output=True,
                          text=True, timeout=600)


def main():
    results = []
    multiarch = subprocess.run(["cc", "-print-multiarch"], capture_output=True, text=True).stdout.strip()
    libdir = "/usr/lib/" + multiarch if multiarch else "/usr/lib"
    with tempfile.TemporaryDirectory() as destdir:
        installed = make("install", f"DESTDIR={destdir}")
        library = os.path.join(destdir + libdir, "interactions.so")
        results.append((installed.returncode == 0 and os.path.isfile(library),
                        f"make install puts interactions.so in {libdir}", installed.stderr))
        share = os.path.join(destdir, "usr/share/sqlite-interactions")
        results.append((os.path.isfile(os.path.join(share, "README.md")),
                        "the README and sql/ go to /usr/share/sqlite-interactions", ""))
        # Every page the installed README links to is installed beside it, at the same path.
        with open(os.path.join(ROOT, "README.md")) as readme:
            links = sorted(set(re.findall(r"\]\((docs/[^)#]+\.md)", readme.read())))
        missing = [link for link in links if not os.path.isfile(os.path.join(share, link))]
        results.append((links != [] and missing == [],
                        "the docs the README links to are installed beside it",
                        "missing: %s" % missing))
        env = dict(os.environ, LD_LIBRARY_PATH=destdir + libdir)
        loaded = run_sqlite(".load interactions\nSELECT interactions_version();\n", env)
        results.append((loaded.returncode == 0 and loaded.stdout.strip() != "",
                        "`.load interactions` finds the installed library by name",
                        loaded.stderr))
        removed = make("uninstall", f"DESTDIR={destdir}")
        left = [os.path.join(d, f) for d, _, files in os.walk(destdir) for f in files]
        results.append((removed.returncode == 0 and not left,
                        "make uninstall removes every file install put there", "\n".join(left)))
    return print_tap(results)


if __name__ == "__main__":
    sys.exit(main())
