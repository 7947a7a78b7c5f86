"""Files kept in the repository that a script generates (examples/crm.sql, sql/timeline.sql): the
check that the file on disk is still what the script prints."""

import sys


def check(path, expected, prog, regenerate):
    """0 when path holds exactly expected; else 1, saying on stderr how to regenerate it."""
    try:
        with open(path, encoding="utf-8", newline="") as f:
            current = f.read()
    except OSError as e:
        print(f"{prog}: cannot read {path}: {e.strerror}", file=sys.stderr)
        return 1
    if current != expected:
        print(f"{prog}: {path} differs from what it is generated from; regenerate with:\n"
              f"  {regenerate} > {path}", file=sys.stderr)
        return 1
    return 0
