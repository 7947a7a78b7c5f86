"""The environment every test gives sqlite3: the caller's, without any real vendor settings, plus
examples/sandbox.env pointed at a running sandbox. The vendors (their prefixes, their secrets) come
from the sandbox's registry, tests/sandbox/vendors/."""
import atexit
import os
import re
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "sandbox"))
sys.dont_write_bytecode = True  # keep tests/sandbox/ free of __pycache__ litter
import vendors  # noqa: E402

REGISTRY = vendors
# Every vendor's variables, and the process-wide INTERACTIONS_* switches (the state directory too).
VENDOR_PREFIXES = vendors.env_prefixes() + ("INTERACTIONS_",)


def sandbox_env_file(sandbox_url):
    """The variables examples/sandbox.env exports, with the sandbox's URL filled in."""
    values = {}
    with open(os.path.join(ROOT, "examples", "sandbox.env"), encoding="utf-8") as handle:
        for line in handle:
            match = re.match(r'^\s*export\s+([A-Z0-9_]+)=["\']?(.*?)["\']?\s*$', line)
            if match:
                values[match.group(1)] = match.group(2).replace("${SANDBOX_URL}", sandbox_url)
    return values


_state_dir = None


def private_state_dir():
    """A directory of this process's own for INTERACTIONS_STATE_DIR (removed at exit): the
    extension's shared rate-limit state must never go to the user's real runtime directory."""
    global _state_dir
    if _state_dir is None:
        _state_dir = tempfile.mkdtemp(prefix="ix-state-")
        atexit.register(shutil.rmtree, _state_dir, True)
    return _state_dir


def sandbox_environment(sandbox_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith(VENDOR_PREFIXES)}
    env.update(sandbox_env_file(sandbox_url))
    env["INTERACTIONS_STATE_DIR"] = private_state_dir()
    return env
