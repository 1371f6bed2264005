"""V8 contexts for expressions and the Code node: the sandbox bundle, calls with a time limit, and
a per-process pool.

Every call goes through one cancelable mini-racer task with the request passed as the function's
`this` string. mini-racer's own JSFunction call path first runs an uncancelable task, which blocks
forever if user code left a runaway promise callback behind; a cancelable task times out, and
closing the context terminates whatever still runs in it. This uses three private members of
mini-racer 0.14.1 (`_ctx`, `_python_to_value_handle`, `_run_cancelable_mr_task`); the version is
pinned in requirements.txt.
"""
import asyncio
import functools
import os
import threading
from pathlib import Path

from py_mini_racer import JSOOMException, mini_racer

JS_DIR = Path(__file__).with_name("js")
MIB = 1024 * 1024
# V8 aborts the process when a sparse array's hash table outgrows its maximum size (~190 MB),
# before a larger heap limit would stop the script; measured: 160 MB stops it in time.
SAFE_HEAP_LIMIT_MB = 160
MAX_IDLE_CONTEXTS = 4
# A context is replaced after this many sessions, bounding what any state a session managed to
# leave inside library internals (not the frozen built-ins) could influence.
MAX_SESSIONS_PER_CONTEXT = 500


class SandboxError(Exception):
    """The isolate could not finish a call; the context has been discarded."""


class SandboxTimeout(SandboxError):
    pass


class SandboxMemoryError(SandboxError):
    pass


@functools.cache
def sandbox_source():
    """The script that builds the sandbox and evaluates to its API object. Vendored libraries are
    wrapped in functions so they never become globals; our own files run in strict mode."""
    vendor = JS_DIR / "vendor"
    parts = [
        "(function () {",
        "const luxon = (function () {", (vendor / "luxon.min.js").read_text(), "\nreturn luxon; })();",
        "const jmespath = (function () { var exports = {};", (vendor / "jmespath.js").read_text(),
        "\nreturn exports; })();",
        "const acorn = (function () { var exports = {}, module = {};", (vendor / "acorn.js").read_text(),
        "\nreturn exports; })();",
    ]
    parts.append("return (function () { 'use strict';")
    parts += [(JS_DIR / name).read_text() for name in ("hash.js", "extensions.js", "transform.js", "runtime.js")]
    parts.append("return createRuntime({ luxon, jmespath, acorn });\n})();\n})()")
    return "\n".join(parts)


class _SharedEventLoop:
    """One asyncio loop thread per process dispatches the results of every context's calls (by
    default each mini-racer context starts its own). Closing a context whose isolate is stuck
    then also delivers the cancellation of its last call to a loop that still runs."""

    def __init__(self):
        self._lock = threading.Lock()
        self._loop = None
        self._pid = None

    def get(self):
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                self._loop = asyncio.new_event_loop()
                self._pid = os.getpid()
                threading.Thread(target=self._loop.run_forever, name="v8-results", daemon=True).start()
            return self._loop


_event_loop = _SharedEventLoop()


class V8Context:
    """One isolate with the sandbox loaded. Used by one thread at a time."""

    def __init__(self):
        self._owner = mini_racer(_event_loop.get())
        self._racer = self._owner.__enter__()
        api = self._racer.eval(sandbox_source())
        self._call = api["call"]
        self._no_args = self._racer.eval("[]")
        self.sessions = 0
        self.broken = False
        self.pid = os.getpid()

    def set_memory_limit(self, megabytes):
        self._racer.set_hard_memory_limit(min(megabytes, SAFE_HEAP_LIMIT_MB) * MIB)

    def call(self, request, timeout):
        """Run the sandbox's `call` with `request` as `this`; returns the JSON answer text."""
        ctx = self._racer._ctx
        handles = [ctx._python_to_value_handle(v) for v in (self._call, request, self._no_args)]

        async def run():
            task = ctx._run_cancelable_mr_task(ctx._dll.mr_call_function, *(h.raw for h in handles))
            return await asyncio.wait_for(task, timeout)

        try:
            return asyncio.run_coroutine_threadsafe(run(), ctx.event_loop).result()
        except TimeoutError as exc:
            self.broken = True
            raise SandboxTimeout(f"timed out after {timeout:.3g} s") from exc
        except Exception as exc:
            self.broken = True
            # A call stopped by the memory limit reports a bare termination, not JSOOMException.
            if isinstance(exc, JSOOMException) or self._racer.was_hard_memory_limit_reached():
                raise SandboxMemoryError("memory limit reached") from exc
            raise SandboxError(str(exc).strip()) from exc

    def close(self):
        self._owner.__exit__(None, None, None)


class ContextPool:
    """Idle contexts for reuse, per process. Contexts are created on demand, never at import: a
    context made before fork() hangs in the child, so a pool inherited through fork is dropped
    (and its contexts deliberately never closed, which would hang too)."""

    def __init__(self, max_idle=MAX_IDLE_CONTEXTS):
        self._lock = threading.Lock()
        self._idle = []
        self._max_idle = max_idle
        self._pid = os.getpid()
        self._abandoned = []

    def _forget_if_forked(self):
        if self._pid != os.getpid():
            self._abandoned.extend(self._idle)
            self._idle = []
            self._pid = os.getpid()

    def acquire(self):
        with self._lock:
            self._forget_if_forked()
            if self._idle:
                return self._idle.pop()
        return V8Context()

    def release(self, context):
        if context.pid != os.getpid():
            self._abandoned.append(context)
            return
        context.sessions += 1
        keep = not context.broken and context.sessions < MAX_SESSIONS_PER_CONTEXT
        with self._lock:
            self._forget_if_forked()
            if keep and len(self._idle) < self._max_idle:
                self._idle.append(context)
                return
        context.close()


pool = ContextPool()
