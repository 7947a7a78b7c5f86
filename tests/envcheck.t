#!/usr/bin/env python3
"""The warning about a variable no setting reads is printed once per process, however many tables
and statements resolve their settings, and never shows the variable's value. Prints TAP."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from cases_env import sandbox_environment  # noqa: E402
from sandbox_process import Sandbox, library, print_tap, run_sqlite  # noqa: E402


def main():
    with Sandbox() as sandbox:
        env = sandbox_environment(sandbox.url)
        env["CAPILLARY_PASWORD"] = "value-never-shown"
        env["WHICH50_APIKEY"] = "another-value-never-shown"
        script = (f".load {library()}\n"
                  "SELECT count(*) FROM capillary_interactions('mobile', '919988221100');\n"
                  "SELECT count(*) FROM capillary_interactions('mobile', '919988221100');\n"
                  "SELECT count(*) FROM which50_interactions('zVCvT20YU6S747BYwrV60W5vRioi4KV/U+hloX2vD74=');\n"
                  "CREATE VIRTUAL TABLE temp.cap USING capillary_interactions(rate_limit = '5/1s');\n"
                  "SELECT count(*) FROM cap('mobile', '919988221100');\n")
        result = run_sqlite(script, env)
    lines = result.stderr.splitlines()
    capillary = [l for l in lines if "CAPILLARY_PASWORD" in l]
    which50 = [l for l in lines if "WHICH50_APIKEY" in l]
    return print_tap([
        (result.returncode == 0, "the statements succeed", result.stderr),
        (capillary == ["interactions: no setting reads CAPILLARY_PASWORD: did you mean "
                       "CAPILLARY_PASSWORD? (INTERACTIONS_QUIET=1 hides this)"],
         "one warning for CAPILLARY_PASWORD", result.stderr),
        (which50 == ["interactions: no setting reads WHICH50_APIKEY: did you mean WHICH50_API_KEY? "
                     "(INTERACTIONS_QUIET=1 hides this)"],
         "one warning for WHICH50_APIKEY", result.stderr),
        (len(lines) == 2, "nothing else on stderr", result.stderr),
        ("never-shown" not in result.stdout + result.stderr, "no value is shown", ""),
    ])


if __name__ == "__main__":
    sys.exit(main())
