"""Node implementations, one module per node type, grouped in core/, triggers/ and integrations/.

`load_all()` imports every node module so each registers itself with the engine's registry. It is
called at start-up by the app factory, the worker and the CLI. A node whose optional dependency is
missing is skipped with a warning: one missing driver disables one node, not the app.
"""
import importlib
import logging
import pkgutil

log = logging.getLogger(__name__)
unavailable = {}


def load_all():
    for module in pkgutil.walk_packages(__path__, prefix=__name__ + "."):
        try:
            importlib.import_module(module.name)
        except ImportError as exc:
            unavailable[module.name] = str(exc)
            log.warning("node module %s is unavailable: %s", module.name, exc)
