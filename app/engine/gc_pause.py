"""Pausing Python's cyclic garbage collector while a workflow moves many items.

A node run over 100,000 items creates millions of small acyclic objects (dicts of items, JSON
decoded from V8); each allocation burst makes the collector walk all live objects again, which
doubles the cost of a run. Reference counting still frees everything; cycles wait until the
pause ends. The pause is counted, because gc is process-wide and executions run in threads.
"""
import gc
import threading
from contextlib import contextmanager

_lock = threading.Lock()
_pausers = 0
_was_enabled = True


@contextmanager
def paused_gc():
    global _pausers, _was_enabled
    with _lock:
        if _pausers == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pausers += 1
    try:
        yield
    finally:
        with _lock:
            _pausers -= 1
            if _pausers == 0 and _was_enabled:
                gc.enable()
