"""The child process of the Python Code node: runs one piece of user code over the items.

Started by `app.engine.python_runner` as `python -I -S python_runner_child.py CPU_S MEMORY_MB
FILE_MB`, in a fresh session, temp directory and minimal environment. It uses the standard library
only and never imports `app`: `-I` keeps the project (and its secrets) off `sys.path`.

Protocol: the request arrives as one JSON document on stdin, read to EOF: {"code", "mode",
"items", "context", "continue_on_fail", "node_names" (every node of the workflow), "nodes" (name →
{"executed", "runs", "branch", "params", "paired"?} for the nodes the code may read)}. The reply
leaves on the original stdout as `<byte length>\\n<JSON>`; before user code runs, fd 1 is pointed
at /dev/null and `print()` goes to an in-memory console, so nothing the code writes can corrupt
the reply.

Reply shapes (`console` is always present):
    {"result": value}                                  runOnceForAllItems
    {"results": [{"value": v} | {"error": e}, ...]}    runOnceForEachItem, one entry per item
    {"error": e}                                       the run failed
where e = {"type", "message", "line", "item", "traceback"} (any of them may be null).
"""
import io
import json
import os
import resource
import sys
import time
from datetime import datetime, timedelta, timezone

FILENAME = "<code>"
EACH_ITEM = "runOnceForEachItem"
CONSOLE_LIMIT = 1_000_000  # characters of print() output kept; the rest is dropped
OPEN_FILES_LIMIT = 64
MB = 1024 * 1024

# What run() returns when the code ran out of memory. A MemoryError is caught right where the
# code is called and turned into this constant, never re-raised: leaving the except block frees
# everything the code allocated, and until then nothing may need memory. (Re-raising it through
# a `finally` was seen to leave CPython 3.11 retrying a failed allocation forever.)
OUT_OF_MEMORY = (None, None)

# Zones Luxon treats as the fixed UTC offset, which its ISO strings write as "Z".
FIXED_UTC_ZONES = frozenset({"utc", "gmt"})
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

# A name the code may reach for in the wrong mode → the hint added to its NameError.
MODE_HINTS = {
    "_json": "it only exists in 'Run Once for Each Item' mode",
    "item": "it only exists in 'Run Once for Each Item' mode; use _input.all() here",
    "_item": "it only exists in 'Run Once for Each Item' mode; use _input.all() here",
    "_itemIndex": "it only exists in 'Run Once for Each Item' mode",
    "items": "it only exists in 'Run Once for All Items' mode; use _input.item here",
    "_items": "it only exists in 'Run Once for All Items' mode; use _input.item here",
}


class JsonDict(dict):
    """A dict whose keys read and write as attributes too (`item.json.name = "x"`), as the JS
    objects that n8n's Pyodide-based Python node hands to user code do. Dict methods win over
    keys of the same name (`d.items` is the method; use `d["items"]`)."""

    __slots__ = ()

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        self[name] = value

    def __delattr__(self, name):
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None


class LuxonDateTime(datetime):
    """`_now` and `_today`: a datetime that turns into JSON as the Luxon DateTime behind n8n's
    `$now` and `$today` does (`toISO()`), so returning one gives what the JavaScript twin gives.
    Arithmetic and replace() keep the class; other datetimes still aren't JSON."""

    def toISO(self):
        text = (f"{self.year:04d}-{self.month:02d}-{self.day:02d}T{self.hour:02d}:"
                f"{self.minute:02d}:{self.second:02d}.{self.microsecond // 1000:03d}")
        if self.tzinfo is timezone.utc:
            return text + "Z"
        offset = self.utcoffset()
        if offset is None:
            return text
        hours, minutes = divmod(abs(int(offset.total_seconds())) // 60, 60)
        return f"{text}{'-' if offset < timedelta(0) else '+'}{hours:02d}:{minutes:02d}"


def json_default(value):
    if isinstance(value, LuxonDateTime):
        return value.toISO()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# Bound before user code runs: the code may rebind `json.dumps` in its own process.
_dumps = json.JSONEncoder(allow_nan=False, separators=(",", ":"), default=json_default).encode


class ExpressionError(Exception):
    """A node reference that can't be answered, with the JavaScript engine's message."""


class Input:
    """`_input`: the node's input items. `index` is the item being run: 0 in all-items mode, so
    `_input.item` is the first item there, as in n8n."""

    def __init__(self, items):
        self._items = items
        self.index = 0

    def all(self):
        return self._items

    def first(self):
        return self._items[0] if self._items else None

    def last(self):
        return self._items[-1] if self._items else None

    @property
    def item(self):
        return self._items[self.index] if self._items else None


class ItemList(list):
    """`_items` and `items` in all-items mode: the input items, and (called) n8n's `$items(node,
    output, run)`, which `_items` is in n8n's Python sandbox."""

    __slots__ = ("_nodes",)

    def __call__(self, name=None, output=0, run=-1):
        if name is None:
            return self
        node = self._nodes.get(name)
        node.executed()
        return node.output_items(output or 0, run)


class NodeReference:
    """`_('Node')`: another node's output items, parameters, and the items paired with the input,
    answered as the JavaScript engine answers `$('Node')` (same defaults and error messages)."""

    def __init__(self, name, data, user_input):
        self.name = name
        self._data = data
        self._input = user_input

    def executed(self):
        if not self._data["executed"]:
            raise ExpressionError(f"Node '{self.name}' hasn't been executed")
        return self

    def output_items(self, branch=None, run=None):
        runs = self._data["runs"]
        run_index = len(runs) - 1 if run is None or run == -1 else run
        if not 0 <= run_index < len(runs):
            raise ExpressionError(f'Run {run_index} of node "{self.name}" not found')
        outputs = runs[run_index] or []
        index = self._data["branch"] if branch is None else branch
        if index >= len(outputs):
            if index == 0:
                raise ExpressionError("No data found from `main` input")
            raise ExpressionError(f'Node "{self.name}" has no branch with index {index}.')
        return outputs[index] or []

    def first(self, branch=None, run=None):
        items = self.executed().output_items(branch, run)
        return items[0] if items else None

    def last(self, branch=None, run=None):
        items = self.executed().output_items(branch, run)
        return items[-1] if items else None

    def all(self, branch=None, run=None):
        return self.executed().output_items(branch, run)

    @property
    def item(self):
        return self._paired(self._input.index, "item")

    def pairedItem(self, index=None):
        return self._paired(self._input.index if index is None else index, "pairedItem")

    def itemMatching(self, index=None):
        if index is None:
            raise ExpressionError("Missing item index for .itemMatching()")
        return self._paired(index, "itemMatching")

    @property
    def isExecuted(self):
        return self._data["executed"]

    @property
    def params(self):
        return self._data["params"]

    @property
    def context(self):
        return JsonDict()  # n8n's node context; no node keeps state there yet

    def _paired(self, index, method):
        self.executed()
        paired = self._data.get("paired")
        if paired is None:
            raise ExpressionError(
                f"The items paired with the input weren't looked up before the code ran; write "
                f"_('{self.name}').{method} in the code for that")
        if not 0 <= index < len(paired):
            raise ExpressionError(f"Can’t get data for expression: there is no input item "
                                  f"{index} to trace back to '{self.name}'")
        if paired[index] is None:
            raise ExpressionError(
                f"Paired item data for {method} from node '{self.name}' is unavailable. Ensure "
                f"'{self.name}' is providing the required output.")
        run, output, item = paired[index]
        return self._data["runs"][run][output][item]


class LegacyNode:
    """`_node["Node"]`: n8n's older accessor, which reads the item at the current item's index
    (no pairing) of the node's last run."""

    def __init__(self, reference, user_input):
        self._reference = reference
        self._input = user_input

    def _current(self):
        reference = self._reference
        items = reference.output_items() if reference.isExecuted else []
        if not items:
            raise ExpressionError(f"Node '{reference.name}' hasn't been executed")
        index = self._input.index
        if index >= len(items):
            raise ExpressionError(f'"{reference.name}" node has {len(items)} item(s) but you\'re '
                                  f"trying to access item {index}")
        return items[index]

    @property
    def json(self):
        return self._current()["json"]

    data = json

    @property
    def binary(self):
        """The item's binary properties without their data, as in n8n."""
        binary = self._current().get("binary") or {}
        return JsonDict({key: JsonDict({k: v for k, v in value.items() if k != "data"})
                         for key, value in binary.items()})

    @property
    def parameter(self):
        return self._reference.params

    @property
    def context(self):
        return self._reference.context

    @property
    def runIndex(self):
        return len(self._reference._data["runs"]) - 1


class Nodes:
    """The nodes the code may read, by name: `_('X')`, `_node['X']`, `_node.X`, `_items('X')`."""

    def __init__(self, request, user_input):
        self._names = set(request.get("node_names") or ())
        self._data = request.get("nodes") or {}
        self._input = user_input

    def get(self, name):
        if not isinstance(name, str) or not name:
            raise ExpressionError("When calling _(), please specify a node")
        if name not in self._names:
            raise ExpressionError(f"Referenced node doesn't exist: no node called '{name}' in "
                                  "this workflow")
        if name not in self._data:
            raise ExpressionError(f"Node '{name}' was named in a way that can't be seen before "
                                  f"the code runs; write _('{name}') in the code")
        return NodeReference(name, self._data[name], self._input)


class NodeMap:
    """`_node`: `_node['X']` and `_node.X`."""

    def __init__(self, nodes, user_input):
        self._nodes = nodes
        self._input = user_input

    def __getitem__(self, name):
        return LegacyNode(self._nodes.get(name), self._input)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self[name]


class Console(io.TextIOBase):
    """Stands in for sys.stdout and sys.stderr while user code runs."""

    def __init__(self):
        super().__init__()
        self._parts = []
        self._room = CONSOLE_LIMIT
        self.truncated = False

    def writable(self):
        return True

    def write(self, text):
        if len(text) > self._room:
            self.truncated = True
        self._parts.append(text[:self._room])
        self._room -= len(self._parts[-1])
        return len(text)

    def lines(self):
        lines = "".join(self._parts).split("\n")
        if lines[-1] == "":
            lines.pop()
        if self.truncated:
            lines.append(f"[console output truncated after {CONSOLE_LIMIT:,} characters]")
        return lines


class NotJsonError(Exception):
    """The code returned something JSON can't hold; the message says what and where."""


# -- process set-up ------------------------------------------------------------------------------

def apply_limits(cpu_seconds, memory_mb, file_mb):
    """Hard limits too, so user code can't raise them again (unless it runs as root)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb * MB, memory_mb * MB))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_mb * MB, file_mb * MB))
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES_LIMIT, OPEN_FILES_LIMIT))


# What user code may not do at all: reach the network, start programs, signal other processes
# (the web server is one), load native code (which could unhook all of this) or lift its limits.
FORBIDDEN_EVENT_PREFIXES = (
    "socket.", "subprocess.", "ctypes.", "os.exec", "os.spawn", "os.posix_spawn", "os.fork",
    "os.forkpty", "os.system", "os.kill", "os.killpg", "signal.pthread_kill", "pty.",
    "resource.setrlimit", "resource.prlimit", "_posixsubprocess.",
)
# Events whose path arguments must stay inside the work directory (they change files).
WRITE_PATH_EVENTS = frozenset({
    "os.remove", "os.rmdir", "os.rename", "os.mkdir", "os.chmod", "os.chown", "os.link",
    "os.symlink", "os.truncate", "os.utime", "os.mkfifo", "os.mknod", "shutil.copyfile",
    "shutil.copymode", "shutil.copystat", "shutil.copytree", "shutil.move", "shutil.rmtree",
})
READ_PATH_EVENTS = frozenset({"os.listdir", "os.scandir", "glob.glob", "os.chdir"})
# Outside the work directory only the standard library and the time-zone database are readable,
# so user code can't read the instance folder (keys), /proc (other processes' environments) or
# anything else on the machine.
EXTRA_READABLE = ("/usr/share/zoneinfo", "/usr/lib/zoneinfo", "/usr/share/lib/zoneinfo",
                  "/etc/zoneinfo", "/etc/localtime", "/dev/null", "/dev/urandom")


def confine(workdir):
    """Install an audit hook that refuses what user code may not do (it cannot be removed)."""
    workdir = os.path.realpath(workdir)
    readable = (os.path.realpath(os.path.dirname(os.__file__)), *EXTRA_READABLE, workdir)

    def inside(path, roots):
        real = os.path.realpath(os.fsdecode(path))
        return any(real == root or real.startswith(root.rstrip("/") + "/") for root in roots)

    def check(path, writing):
        if isinstance(path, int):
            return
        if not inside(path, (workdir,) if writing else readable):
            raise PermissionError(f"the Python sandbox does not allow access to {os.fsdecode(path)!r}")

    def hook(event, args):
        if event == "open":
            path, mode, flags = args
            writing = bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)) if mode is None \
                else any(c in mode for c in "wax+")
            check(path, writing)
        elif event in WRITE_PATH_EVENTS or event in READ_PATH_EVENTS:
            for arg in args:
                if isinstance(arg, (str, bytes, os.PathLike)):
                    check(arg, event in WRITE_PATH_EVENTS)
        elif event.startswith(FORBIDDEN_EVENT_PREFIXES):
            raise PermissionError(f"the Python sandbox does not allow {event}")

    sys.addaudithook(hook)


def read_request():
    """Read the request, then leave stdin at /dev/null (so `input()` sees EOF) and fd 1 too (so
    subprocesses and os.write(1, …) can't reach the reply). Returns the reply channel: a private
    copy of the original stdout, not inherited by subprocesses."""
    request = json.loads(sys.stdin.buffer.read(), object_hook=JsonDict)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    reply_fd = os.dup(1)
    os.dup2(devnull, 1)
    os.close(devnull)
    return request, reply_fd


def send_reply(reply_fd, body):
    data = body.encode()
    with open(reply_fd, "wb") as channel:
        channel.write(b"%d\n" % len(data))
        channel.write(data)


# -- compiling and running -----------------------------------------------------------------------

def compile_code(code, names):
    """The code is the body of a function, so a top-level `return` works. It is parsed as it
    stands and its statements are moved into a function, so line numbers stay the user's and
    multi-line strings keep their text (indenting the source would change both). `names` become
    the function's globals."""
    import ast  # here, not at the top: it is not needed to start the process

    module = ast.parse("def user_code():\n    pass\n", FILENAME)
    module.body[0].body = ast.parse(code, FILENAME).body or module.body[0].body
    exec(compile(module, FILENAME, "exec"), names)
    return names.pop("user_code")


def clock(context):
    """`_now` and `_today` in the workflow's time zone, `_now` fixed by now_ms when given. Both
    have millisecond precision, as Luxon's DateTime has."""
    zone = context.get("timezone") or "UTC"
    if zone.lower() in FIXED_UTC_ZONES:
        tz = timezone.utc
    else:
        from zoneinfo import ZoneInfo  # only when needed: it costs start-up time
        tz = ZoneInfo(zone)
    now_ms = context.get("now_ms")
    if now_ms is None:
        now_ms = time.time_ns() // 1_000_000
    utc = EPOCH + timedelta(milliseconds=now_ms)
    now = LuxonDateTime(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second,
                        utc.microsecond, tzinfo=timezone.utc).astimezone(tz)
    return now, now.replace(hour=0, minute=0, second=0, microsecond=0)


def namespace_for(request, user_input):
    context = request["context"]
    now, today = clock(context)
    nodes = Nodes(request, user_input)
    names = {
        "__name__": "__code__",
        "__builtins__": __builtins__,
        "_input": user_input,
        "_": nodes.get,
        "_node": NodeMap(nodes, user_input),
        "_workflow": context.get("workflow") or JsonDict(),
        "_execution": context.get("execution") or JsonDict(),
        "_vars": context.get("vars") or JsonDict(),
        "_runIndex": context.get("run_index", 0),
        "_mode": context.get("mode"),
        "_prevNode": context.get("prev_node") or JsonDict(name=None, outputIndex=None,
                                                          runIndex=None),
        "_now": now,
        "_today": today,
    }
    user_input.all()._nodes = nodes
    if request["mode"] != EACH_ITEM:
        names["_items"] = names["items"] = user_input.all()
    return names


def run(request, console):
    """Returns the reply's key ("result", "results" or "error") and its value as JSON text."""
    user_input = Input(ItemList(request["items"]))
    try:
        function = compile_code(request["code"], namespace_for(request, user_input))
    except SyntaxError as error:
        return "error", _dumps(describe_error(error, request["code"]))
    previous = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = console
    try:
        if request["mode"] == EACH_ITEM:
            return run_each_item(function, user_input, request)
        return run_all_items(function, request)
    finally:
        sys.stdout, sys.stderr = previous


def run_all_items(function, request):
    try:
        return "result", to_json(function(), "result")
    except MemoryError:
        return OUT_OF_MEMORY
    except BaseException as error:  # SystemExit too: the code ending itself is an error as well
        return "error", _dumps(describe_error(error, request["code"]))


def run_each_item(function, user_input, request):
    # Rebinding the per-item names in the function's globals lets one compiled function serve
    # every item.
    names = function.__globals__
    parts = []
    for index, item in enumerate(user_input.all()):
        user_input.index = index
        names["item"] = names["_item"] = item
        names["_json"] = item["json"]
        names["_itemIndex"] = index
        try:
            parts.append('{"value":' + to_json(function(), "result") + "}")
        except MemoryError:
            return OUT_OF_MEMORY
        except BaseException as error:
            failure = describe_error(error, request["code"], index)
            if not request["continue_on_fail"]:
                return "error", _dumps(failure)
            parts.append(_dumps({"error": failure}))
    return "results", "[" + ",".join(parts) + "]"


# -- results and errors --------------------------------------------------------------------------

def to_json(value, path):
    try:
        return _dumps(value)
    except (TypeError, ValueError, RecursionError):
        raise NotJsonError(find_non_json(value, path, set()) or
                           "The returned data can't be converted to JSON") from None


def find_non_json(value, path, parents):
    """Where `value` stops being JSON, as a sentence, or None if it is JSON."""
    if value is None or isinstance(value, (str, bool, int, LuxonDateTime)):
        return None
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return f"The returned data holds {value} at {path}, which JSON can't represent"
        return None
    if id(value) in parents:
        return f"The returned data refers back to itself at {path}"
    if isinstance(value, dict):
        children = []
        for key, child in value.items():
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                return (f"The returned data has a dictionary key of type {type(key).__name__} at "
                        f"{path}; JSON keys must be strings")
            children.append((f"{path}[{key!r}]", child))
    elif isinstance(value, (list, tuple)):
        children = [(f"{path}[{index}]", child) for index, child in enumerate(value)]
    else:
        return (f"The returned data holds a {type(value).__name__} at {path}, which isn't JSON; "
                "convert it first (e.g. str(value), value.isoformat(), list(value))")
    parents.add(id(value))
    for child_path, child in children:
        found = find_non_json(child, child_path, parents)
        if found:
            return found
    parents.discard(id(value))
    return None


def describe_error(error, code, item_index=None):
    if isinstance(error, NotJsonError):
        return {"type": None, "message": str(error), "line": None, "item": item_index,
                "traceback": None}
    import linecache  # error path only
    import traceback

    linecache.cache[FILENAME] = (len(code), None, code.splitlines(True), FILENAME)
    if isinstance(error, SyntaxError):
        line = error.lineno
        text = "".join(traceback.format_exception_only(error))
    else:
        frames = user_frames(error.__traceback__)
        line = frames[-1].tb_lineno if frames else None
        text = "".join(traceback.format_exception(type(error), error,
                                                  frames[0] if frames else None))
    return {"type": type(error).__name__, "message": error_message(error), "line": line,
            "item": item_index, "traceback": text}


def user_frames(tb):
    """The traceback entries in the user's code (the runner's own frames left out)."""
    frames = []
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == FILENAME:
            frames.append(tb)
        tb = tb.tb_next
    return frames


def error_message(error):
    if isinstance(error, SyntaxError):
        detail = error.msg
    else:
        detail = str(error)
    message = f"{type(error).__name__}: {detail}" if detail else type(error).__name__
    # Not UnboundLocalError: there the name is the code's own variable.
    hint = MODE_HINTS.get(error.name) if type(error) is NameError else None
    return f"{message}; {hint}" if hint else message


def main():
    cpu_seconds, memory_mb, file_mb = (int(arg) for arg in sys.argv[1:4])
    apply_limits(cpu_seconds, memory_mb, file_mb)
    request, reply_fd = read_request()
    confine(os.getcwd())
    console = Console()
    key, value = run(request, console)
    if key is None:
        key, value = "error", _dumps({"type": "MemoryError", "message": "MemoryError",
                                      "line": None, "item": None, "traceback": None})
    send_reply(reply_fd, f'{{"{key}":{value},"console":{_dumps(console.lines())}}}')


if __name__ == "__main__":
    main()
