"""The five vendor APIs the sandbox imitates, one module each.

Each is served under its own prefix: http://HOST:PORT/<name>/... so that
<NAME>_BASE_URL = http://HOST:PORT/<name> (Which50: .../which50/Which50API).
"""

from vendors.alpharun import Alpharun
from vendors.capillary import Capillary
from vendors.cxengage import CXengage
from vendors.optimove import Optimove
from vendors.which50 import Which50

NAMES = ("capillary", "optimove", "cxengage", "alpharun", "which50")


def build_vendors(settings):
    """{prefix: Vendor} for all five; `settings` carries runtime switches (Optimove's
    format, the token lifetime of Capillary and CXengage)."""
    vendors = (Capillary(settings), Optimove(settings), CXengage(settings), Alpharun(),
               Which50())
    registry = {v.name: v for v in vendors}
    assert tuple(registry) == NAMES
    return registry
