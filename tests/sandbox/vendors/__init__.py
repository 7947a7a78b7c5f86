"""The vendor APIs the sandbox imitates, one module each, and the registry of them.

Every module here but base.py is a vendor: it defines a Vendor subclass and declares
REGISTRATION (vendors.base.Registration). The registry below finds them by listing this
directory, so a new vendor is a new module and nothing else here. Each is served under
its own prefix: http://HOST:PORT/<name>/... (its base_url setting says where exactly).

The sandbox (server.py, credentials.py, data.py), the tests (tests/cases.t,
cases_env.py, readme.t, sandbox_selftest.t, registry.t, secrets.t, stress.t, the differential
test), the bench and tools/timeline.py read the vendor list, their environment variables, their
secrets, their CRM columns, timeline branches, differential specs, test statements and
self-tests from here.
"""

import importlib
import pkgutil


MODULES = {}  # name -> the vendor's module (its SELFTEST, its constants)


def _discover():
    found = []
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        if module == "base":
            continue
        loaded = importlib.import_module(f"{__name__}.{module}")
        MODULES[module] = loaded
        registration = getattr(loaded, "REGISTRATION", None)
        if registration is None:
            raise ImportError(f"vendors/{module}.py declares no REGISTRATION (see vendors/base.py)")
        if registration.name != module:
            raise ImportError(f"vendors/{module}.py registers the name {registration.name!r}: "
                              f"a vendor's module is named after it")
        found.append(registration)
    _check_unknown_offsets(found)
    return tuple(sorted(found, key=lambda r: (r.order, r.name)))


# The sandbox's own tests and several cases use CRM customers 1 and 2 as customers every vendor
# knows (tests/sandbox_selftest.t).
_ALWAYS_KNOWN = (1, 2)


def _check_unknown_offsets(registrations):
    """Each vendor's unknown customers ((n + offset) % 20 == 0) are its own, and never 1 or 2: a
    mistake here otherwise shows up as a 404 in a test that says nothing about why."""
    seen = {}
    for r in registrations:
        offset = r.unknown_offset % 20
        if offset in seen:
            raise ImportError(f"vendors/{r.name}.py: unknown_offset {r.unknown_offset} makes the same "
                              f"customers unknown as vendors/{seen[offset]}.py; pick another")
        for n in _ALWAYS_KNOWN:
            if (n + r.unknown_offset) % 20 == 0:
                raise ImportError(f"vendors/{r.name}.py: unknown_offset {r.unknown_offset} makes CRM "
                                  f"customer {n} unknown, and the tests need customers 1 and 2 known "
                                  "to every vendor; pick another")
        seen[offset] = r.name


REGISTRATIONS = _discover()
REGISTRY = {r.name: r for r in REGISTRATIONS}
NAMES = tuple(REGISTRY)


def selftest(name):
    """The vendor's SELFTEST declaration (vendors.base.SelfTest), or None."""
    return getattr(MODULES[name], "SELFTEST", None)


def build_vendors(settings):
    """{name: Vendor} for every registered vendor; `settings` carries runtime switches."""
    return {r.name: r.make(settings) for r in REGISTRATIONS}


def env_prefixes():
    """("CAPILLARY_", ...): every registered vendor's environment-variable prefix."""
    return tuple(r.env_prefix + "_" for r in REGISTRATIONS)


def sandbox_env(sandbox_url=None):
    """{variable: value} of every vendor's sandbox settings, alternatives included."""
    env = {}
    for registration in REGISTRATIONS:
        env.update(registration.sandbox_env(sandbox_url))
    return env


def secret_forms(env):
    """Every form of every vendor's secret settings in env that no output may hold."""
    forms = set()
    for registration in REGISTRATIONS:
        forms |= registration.secret_forms(env)
    return forms


def sandbox_secrets():
    """Every secret the sandbox knows, in every form it may travel in (the log's redaction list)."""
    forms = secret_forms(sandbox_env())
    for registration in REGISTRATIONS:
        forms.update(registration.extra_secrets)
    return tuple(sorted(forms))
