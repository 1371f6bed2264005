"""Runs the Python Code node's user code in a resource-limited child process.

    result = run_python(code, "runOnceForAllItems", items, context={...}, proxy=data_proxy,
                        parameters={node_name: {...}})
    result.items, result.console

Other nodes' data (`_('Node')`, `_node["Node"]`, `_items("Node")`) is read as the JavaScript
engine reads it: the node names the code writes literally are found before it runs, and only those
nodes' runs, parameters and (when the code asks for `.item`, `.pairedItem()` or `.itemMatching()`)
the items paired with the input go to the child. A name computed at run time can't be seen
beforehand, so then every node's data is sent.

The code runs in `python -I -S python_runner_child.py` (standard library only, no site-packages),
started in a new session, in a fresh temp directory, with an environment built from scratch (no
SECRET_KEY, ENCRYPTION_KEY, DATABASE_URL, …), limits on CPU time, address space, file size, open
files and no core dumps, and killed with its whole process group when the wall-clock timeout
passes. Each-item mode runs every item in the same child.

What the child returns is checked and normalised here the way n8n's Code node does it (plain
dictionaries wrapped in `{"json": …}`, the same error messages, paired items), because the
child is the user's process and its word is not trusted.
"""
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

from app.engine.errors import NodeError

ALL_ITEMS = "runOnceForAllItems"
EACH_ITEM = "runOnceForEachItem"
CHILD_SCRIPT = str(Path(__file__).with_name("python_runner_child.py"))
FILE_SIZE_LIMIT_MB = 256  # largest file the code may write (its temp dir is deleted afterwards)
MIN_MEMORY_MB = 64  # below this the interpreter itself can't start its work
ITEM_KEYS = frozenset({"json", "binary", "pairedItem", "error", "metadata", "index"})
STDERR_TAIL = 4000  # bytes of the child's stderr kept for a crash report

# A node name written as a plain string literal.
_LITERAL = r"""\s*(?:'([^'\\\n]*)'|"([^"\\\n]*)")\s*"""
# `_('X')`, `_items('X', …)`, `_node['X']`, `_node.X`.
NODE_REFERENCE = re.compile(
    rf"(?<![\w.])(?:_|_items)\({_LITERAL}[),]"
    rf"|(?<![\w.])_node\[{_LITERAL}\]"
    r"|(?<![\w.])_node\.([A-Za-z_]\w*)")
# Every use of those names that may reach a node; more of these than literal references means a
# name is computed (`_(name)`, `_node[key]`, `getattr(_node, key)`).
ANY_NODE_ACCESS = re.compile(r"(?<![\w.])(?:_\s*\(|_items\s*\((?!\s*\))|_node\b)")
PAIRED_ACCESS = re.compile(r"\.\s*(?:item|itemMatching|pairedItem)\b")


@dataclass
class PythonResult:
    items: list
    console: list = field(default_factory=list)


class PythonCodeError(NodeError):
    """The Python code failed; `console` holds what it printed before that."""

    def __init__(self, message, console=(), **kwargs):
        super().__init__(message, **kwargs)
        self.console = list(console)


def run_python(code: str, mode: str, items: list, *, context: dict, timeout_s: float = 10,
               memory_mb: int = 512, continue_on_fail: bool = False, proxy=None,
               parameters: dict | None = None) -> PythonResult:
    """Run `code` over `items`. With `continue_on_fail`, an item whose run fails in each-item mode
    becomes `{"json": {"error": message}}` and the others go on, as in n8n; a timeout or memory
    overrun always raises.

    `context` may hold "workflow", "execution", "vars", "now_ms", "timezone", "run_index",
    "mode" (`_mode`), "prev_node" (`_prevNode`) and "node" (the node's name, for errors).
    `proxy` (a DataProxy of this node run) gives the code other nodes' data, and `parameters`
    (node name → parameters as written) their `.params`; without a proxy no other node exists."""
    if mode not in (ALL_ITEMS, EACH_ITEM):
        raise ValueError(f"unknown Code node mode {mode!r}")
    if timeout_s <= 0 or memory_mb < MIN_MEMORY_MB:
        raise ValueError(f"timeout_s must be positive and memory_mb at least {MIN_MEMORY_MB}")
    node = context.get("node")
    zone = _checked_zone(context.get("timezone") or "UTC", node)
    request = {
        "code": code,
        "mode": mode,
        "items": [_visible_part(item) for item in items],
        "context": _child_context(context, zone),
        "continue_on_fail": continue_on_fail,
        **_node_data(code, proxy, parameters or {}),
    }
    limits = _Limits(timeout_s, memory_mb, node)
    reply = _run_child(json.dumps(request).encode(), zone, limits)
    console = reply.get("console") or []
    if "error" in reply:
        raise limits.error_from(reply["error"], console)
    try:
        if mode == EACH_ITEM:
            output = _each_item_output(reply["results"], node, continue_on_fail)
        else:
            output = _all_items_output(reply["result"], len(items), node)
    except PythonCodeError as error:
        error.console = console
        raise
    return PythonResult(output, console)


# -- the child process ---------------------------------------------------------------------------

@dataclass
class _Limits:
    timeout_s: float
    memory_mb: int
    node: str | None

    @property
    def cpu_seconds(self):
        return max(1, math.ceil(self.timeout_s))

    def timeout(self, console=()):
        return PythonCodeError(f"Python code ran longer than {self.timeout_s:g} s and was stopped",
                               console, node=self.node)

    def out_of_memory(self, console=()):
        return PythonCodeError(
            f"Python code used more than {self.memory_mb} MB of memory and was stopped",
            console, node=self.node)

    def error_from(self, error, console):
        """The exception for a reply's `error`."""
        if error.get("type") == "MemoryError":
            return self.out_of_memory(console)
        return _code_error(error, self.node, console)


def _code_error(error, node, console=()):
    """The exception for an error the code raised, e.g. "ZeroDivisionError: division by zero
    (line 3)"."""
    message = error["message"]
    if error.get("line"):
        message += f" (line {error['line']})"
    return PythonCodeError(message, console, node=node, item_index=error.get("item"),
                           description=error.get("traceback"))


def _run_child(payload, zone, limits):
    """Start the child, feed it `payload`, and return its decoded reply (or raise)."""
    command = [sys.executable, "-I", "-S", CHILD_SCRIPT, str(limits.cpu_seconds),
               str(limits.memory_mb), str(FILE_SIZE_LIMIT_MB)]
    workdir = tempfile.TemporaryDirectory(prefix="flowforge-py-", ignore_cleanup_errors=True)
    with workdir, tempfile.TemporaryFile() as stderr:
        # stderr goes to a file, not a pipe: a process the code leaves behind may hold it open,
        # and waiting for a pipe's EOF would wait for that process.
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
            cwd=workdir.name, env=_child_env(workdir.name, zone), start_new_session=True,
            close_fds=True)
        try:
            output, _ = process.communicate(payload, timeout=limits.timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            process.wait()
            # Not communicate() again: a process that left the group may still hold the pipe.
            process.stdin.close()
            process.stdout.close()
            raise limits.timeout() from None
        finally:
            _kill_group(process)  # whatever the code started and left running
        reply = _decode_reply(output)
        if reply is not None:
            return reply
        raise _crash_error(process.returncode, _tail(stderr), limits)


def _child_env(workdir, zone):
    """Built from scratch: nothing of the server's environment (keys, database URLs) leaks in."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": zone,
        "HOME": workdir,
        "TMPDIR": workdir,
    }


def _kill_group(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # the group is already gone


def _decode_reply(output):
    """`<length>\\n<json>`, or None when the child died before writing a whole reply."""
    head, newline, body = output.partition(b"\n")
    if not newline or not head.isdigit() or int(head) != len(body):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _tail(file):
    """The end of what the child wrote to its stderr (which may be large)."""
    size = file.seek(0, os.SEEK_END)
    file.seek(max(0, size - STDERR_TAIL))
    return file.read().decode(errors="replace")


def _crash_error(returncode, tail, limits):
    """The child ended without a reply: tell a limit being hit from any other crash."""
    if returncode == -signal.SIGXCPU:
        return limits.timeout()
    # A SIGKILL we didn't send, within the wall-clock limit, comes from the kernel's OOM killer
    # (the CPU hard limit lies past the wall clock); a MemoryError raised while the child was
    # still reading its request ends with a traceback instead.
    if returncode == -signal.SIGKILL or "MemoryError" in tail:
        return limits.out_of_memory()
    if returncode < 0:
        how = signal.strsignal(-returncode) or f"signal {-returncode}"
    else:
        how = f"exit code {returncode}"
    return PythonCodeError(f"Python code crashed ({how})", node=limits.node,
                           description=tail or None)


def _checked_zone(zone, node):
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise PythonCodeError(f"Unknown time zone {zone!r}", node=node) from None
    return zone


def _visible_part(item):
    """What the code sees of an input item. pairedItem is left out: it points one node further
    back, and an item returned as it came in must be paired to this node's input instead."""
    visible = {"json": item.get("json") or {}}
    if item.get("binary"):
        visible["binary"] = item["binary"]
    return visible


def _child_context(context, zone):
    return {
        "timezone": zone,
        "workflow": context.get("workflow") or {},
        "execution": context.get("execution") or {},
        "vars": context.get("vars") or {},
        "now_ms": context.get("now_ms"),
        "run_index": context.get("run_index", 0),
        "mode": context.get("mode"),
        "prev_node": context.get("prev_node"),
    }


# -- other nodes' data ---------------------------------------------------------------------------

def referenced_nodes(code):
    """The node names `code` writes literally, and whether it may also compute one."""
    names = set()
    literal_uses = 0
    for match in NODE_REFERENCE.finditer(code):
        names.add(next(group for group in match.groups() if group is not None))
        literal_uses += 1
    return names, len(ANY_NODE_ACCESS.findall(code)) > literal_uses


def _node_data(code, proxy, parameters):
    """The request's `node_names` (every node of the workflow) and `nodes` (name → data of the
    nodes the code may read)."""
    if proxy is None:
        return {"node_names": [], "nodes": {}}
    names, computed = referenced_nodes(code)
    if computed:
        names = proxy.node_names
    paired = bool(PAIRED_ACCESS.search(code))
    return {
        "node_names": sorted(proxy.node_names),
        "nodes": {name: _one_node(proxy, name, parameters.get(name) or {}, paired)
                  for name in sorted(names) if name in proxy.node_names},
    }


def _one_node(proxy, name, parameters, paired):
    """What the child needs to answer `_('name')` the way the JavaScript engine answers `$('name')`:
    every run's outputs, the output that leads here, the parameters and, when `paired`, where the
    item paired with each input item sits in those runs."""
    runs = proxy.run_data.get(name) or []
    data = {"executed": bool(runs), "runs": [run.outputs or [] for run in runs],
            "branch": proxy.branch_toward(name), "params": parameters}
    if paired and runs:
        data["paired"] = proxy.paired_positions(name)
    return data


# -- checking what the code returned (n8n's Code node rules) -------------------------------------

def _validation_error(message, description, node, item_index=None):
    return PythonCodeError(message, node=node, item_index=item_index, description=description)


def _all_items_output(result, input_count, node):
    if isinstance(result, dict):
        result = [result]
    if not isinstance(result, list) or not all(isinstance(entry, dict) for entry in result):
        raise _validation_error(
            "Code doesn't return items properly",
            "Please return a list of dictionaries, one for each item you would like to output.",
            node)
    if any(ITEM_KEYS.intersection(entry) for entry in result):
        for index, entry in enumerate(result):
            _check_top_level_keys(entry, index, node)
    items = [_checked_item(entry, index, node) for index, entry in
             enumerate(_wrapped(result, node))]
    _pair_items(items, input_count)
    return items


def _wrapped(result, node):
    """n8n's normalizeItems: either every entry is an item (has `json`) or none is, and then each
    entry becomes an item's json (its `binary`, when every entry has one, stays beside it)."""
    with_json = sum("json" in entry for entry in result)
    if with_json == len(result):
        return result
    if with_json:
        raise _validation_error(
            "Inconsistent item format",
            "Either every returned dictionary has a 'json' key or none has.", node)
    if all("binary" in entry for entry in result):
        return [{"json": {k: v for k, v in entry.items() if k != "binary"},
                 "binary": entry["binary"]} for entry in result]
    return [{"json": entry} for entry in result]


def _checked_item(entry, index, node):
    """The item as the engine stores it: json, and binary and pairedItem when given."""
    if not isinstance(entry["json"], dict):
        raise _validation_error(
            "A 'json' property isn't a dictionary",
            "In the returned data, every key named 'json' must point to a dictionary.",
            node, index)
    if "binary" in entry and not isinstance(entry["binary"], dict):
        raise _validation_error(
            "A 'binary' property isn't a dictionary",
            "In the returned data, every key named 'binary' must point to a dictionary.",
            node, index)
    return {key: entry[key] for key in ("json", "binary", "pairedItem") if key in entry}


def _check_top_level_keys(entry, index, node):
    unknown = [key for key in entry if key not in ITEM_KEYS]
    if unknown:
        raise _validation_error(
            f"Unknown top-level item key: {unknown[0]}",
            "Put the item's fields under 'json', e.g. {'json': {'name': 'x'}}.", node, index)


def _pair_items(items, input_count):
    """n8n's automatic pairing for items the code didn't pair itself: one input item → all from
    it; as many outputs as inputs → by position; many inputs into one output → from the first."""
    if input_count == 1 or (input_count > 1 and len(items) == 1):
        sources = [0] * len(items)
    elif input_count == len(items):
        sources = range(len(items))
    else:
        return
    for item, source in zip(items, sources):
        item.setdefault("pairedItem", {"item": source})


def _each_item_output(results, node, continue_on_fail):
    output = []
    for index, entry in enumerate(results):
        try:
            item = _each_item_result(entry, index, node)
        except PythonCodeError as error:
            if not continue_on_fail:
                raise
            item = {"json": {"error": error.message}}
        if item is not None:
            output.append({**item, "pairedItem": {"item": index}})
    return output


def _each_item_result(entry, index, node):
    if "error" in entry:
        raise _code_error(entry["error"], node)
    if entry["value"] is None:
        return None  # returning None drops the item, as in n8n
    return _single_item(entry["value"], index, node)


def _single_item(value, index, node):
    if isinstance(value, list):
        raise _validation_error(
            "Code doesn't return a single dictionary",
            "A list was returned. To output several items, use the 'Run Once for All Items' "
            "mode.", node, index)
    if not isinstance(value, dict):
        raise _validation_error(
            "Code doesn't return a dictionary",
            f"Please return a dictionary representing the output item ({value!r} was returned).",
            node, index)
    entry = value if "json" in value else {"json": value}
    _check_top_level_keys(entry, index, node)
    item = _checked_item(entry, index, node)
    item.pop("pairedItem", None)  # each-item output is always paired to its own input item
    return item
