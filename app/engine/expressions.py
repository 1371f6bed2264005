"""n8n-compatible expressions and the JavaScript side of the Code node, evaluated in V8.

A parameter string starting with "=" is an expression; its `{{ … }}` parts are JavaScript. A node
run gets one `ExpressionSession`; `evaluate()` resolves one parameter for every input item with a
single call into V8 (the loop over items runs inside V8), and the input items are sent to V8 once
per session, only when an expression needs them. Data of other nodes (`$('X')`, `$node["X"]`,
`$items("X")`) is sent only for the nodes an expression names; when a name is computed at run
time the sandbox asks for the node and the call is repeated with its data.

The sandbox itself (variables, extension functions, hardening) is app/engine/js/runtime.js; the
isolates and their pool are app/engine/expression_v8.py.
"""
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

from app.engine.errors import ExpressionError
from app.engine.expression_template import (
    ITEM_ACCESS, PAIRED_ACCESS, ParameterTemplate, is_expression, json_fields, referenced_nodes,
)
from app.engine.expression_v8 import SAFE_HEAP_LIMIT_MB, SandboxError, SandboxMemoryError, SandboxTimeout, pool
from app.engine.gc_pause import paused_gc

__all__ = ["CodeRun", "ExpressionEngine", "ExpressionSession", "ResolvedValues", "is_expression"]

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False, default=str).encode
# How often one request may come back asking for more data before we give up.
MAX_DATA_ROUNDS = 8
END_TIMEOUT_S = 2.0


class ResolvedValues(list):
    """One resolved parameter value per item. Reading the value of an item whose expression failed
    raises that item's ExpressionError, so a node handles (or continues past) errors per item, as
    in n8n where each item's parameter is resolved separately."""

    def __init__(self, values, errors):
        super().__init__(values)
        self.errors = errors

    def __getitem__(self, index):
        if self.errors and isinstance(index, int):
            error = self.errors.get(index if index >= 0 else index + len(self))
            if error is not None:
                raise error
        return super().__getitem__(index)

    def __iter__(self):
        if self.errors:
            raise self.errors[min(self.errors)]
        return super().__iter__()


# Above this many items a parameter's per-item copies are built when read, not all at once.
LAZY_COPIES_ABOVE = 200_000


class LazyResolvedValues(Sequence):
    """ResolvedValues for very large batches: item i's copy is built when it is read, so a node
    walking a million items holds one copy at a time instead of a million."""

    def __init__(self, build_one, count, errors):
        self._build_one = build_one
        self._count = count
        self.errors = errors

    def __len__(self):
        return self._count

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(index)
        error = self.errors.get(index)
        if error is not None:
            raise error
        return self._build_one(index)

    def __iter__(self):
        if self.errors:
            raise self.errors[min(self.errors)]
        return map(self._build_one, range(self._count))


@dataclass
class CodeRun:
    """What Code node JavaScript produced, checked and normalised with n8n's rules.

    `items`: the output items (in each-item mode one per run that returned an item, paired to
    it). `errors`: one (position in `items`, item index or None, error) per failed run, in order;
    an error is a dict with `message` and, when known, `name`, `line`, `description`,
    `itemIndex`, and `validation` when the code returned something that is not items."""
    items: list
    errors: list
    console: list


class ExpressionEngine:
    def __init__(self, time_limit_s=5.0, memory_limit_mb=256):
        self.time_limit_s = time_limit_s
        self.memory_limit_mb = memory_limit_mb

    def session(self, data):
        return ExpressionSession(self, data)


class ExpressionSession:
    """Expression evaluation for one node run; holds one V8 context until `close()`."""

    def __init__(self, engine, data):
        self._engine = engine
        self._data = data
        self._context = None
        self._begun = False
        self._loaded = set()
        # $json fields sent so far when only some were needed (see _loads_for).
        self._fields = set()
        self._elapsed = 0.0
        self._has_binary = None
        # Calls into V8, for tests and benchmarks.
        self.v8_calls = 0

    # -- public API ------------------------------------------------------------------------------
    @property
    def data(self):
        """The ExpressionData of this node run."""
        return self._data

    def evaluate(self, parameter_name, raw_value):
        """`raw_value` resolved for every input item (one entry when there are no items): a list,
        or a ResolvedValues when the expression failed for some items."""
        count = max(1, len(self._data.items))
        template = ParameterTemplate(raw_value)
        if not template.slots:
            return [raw_value] * count
        code_slots = [slot for slot in template.slots if "{{" in slot]
        results = {}
        errors = {}
        if code_slots:
            text = self._exchange({"op": "evaluate", "exprs": code_slots}, code_slots, parameter_name,
                                  expression=code_slots[0])
            with paused_gc():
                answer = json.loads(text)
            results = dict(zip(code_slots, answer["v"]))
            for item_index, slot, info in answer["e"]:
                errors.setdefault(item_index, self._error(info, parameter_name, item_index, code_slots[slot]))
        # "=text" without {{ }} is just the text.
        slot_values = [results[slot] if slot in results else [slot[1:]] * count for slot in template.slots]
        if count > LAZY_COPIES_ABOVE:
            return LazyResolvedValues(template.copier(slot_values), count, errors)
        with paused_gc():
            values = template.build(slot_values)
        # A plain list unless some item failed: list indexing stays at C speed for the common case.
        return ResolvedValues(values, errors) if errors else values

    def run_code(self, js_code, mode, *, stop_on_error=True):
        """Run Code node JavaScript once (runOnceForAllItems) or once per item
        (runOnceForEachItem), all inside one V8 request; stops after the first failed run when
        `stop_on_error`. Returns a CodeRun."""
        header = {"op": "runCode", "code": js_code, "stopOnError": stop_on_error,
                  "mode": "each" if mode == "runOnceForEachItem" else "all"}
        text = self._exchange(header, [js_code], "jsCode", code=True)
        with paused_gc():
            answer = json.loads(text)
        return CodeRun(answer["items"], answer["errors"], answer["console"])

    def close(self):
        context, self._context = self._context, None
        if context is None:
            return
        if not context.broken:
            try:
                answer = json.loads(context.call(json.dumps({"op": "end"}), END_TIMEOUT_S))
                context.broken = not answer.get("clean")
            except SandboxError:
                pass
        pool.release(context)

    # -- requests ------------------------------------------------------------------------------
    def _exchange(self, header, sources, parameter, code=False, expression=None):
        """Send a request, loading whatever data the sandbox asks for, until it answers. Errors
        name `parameter` and `expression` (the first of the request's expressions)."""
        loads = self._loads_for(sources, code)
        for _ in range(MAX_DATA_ROUNDS):
            text = self._send(header, loads, parameter, expression)
            if code and text.startswith('{"pending"'):
                text = self._send({"op": "collect"}, [], parameter, expression)
            if not text.startswith('{"need"'):
                break
            loads = list(json.loads(text)["need"])
            if code:
                # The aborted run may have changed the items; the repeat starts from fresh ones.
                loads.append("items")
        else:
            raise self._error({"message": "The expression needs data that could not be provided"},
                              parameter, None, expression)
        if text.startswith('{"fatal"'):
            raise self._error(json.loads(text)["fatal"], parameter, None, expression)
        if code and text.startswith('{"pending"'):
            raise self._error({"message": "The code's promise never settled"}, parameter, None, None)
        return text

    def _send(self, header, loads, parameter, expression):
        remaining = self._engine.time_limit_s - self._elapsed
        if remaining <= 0:
            raise self._limit_error(SandboxTimeout(), parameter, expression)
        if self._context is None:
            self._context = pool.acquire()
            self._context.set_memory_limit(self._engine.memory_limit_mb)
        message = dict(header)
        if not self._begun:
            message["session"] = self._meta()
        lines = [None]
        message["load"] = []
        with paused_gc():
            for key in dict.fromkeys(loads):
                kind, _, name = key.partition(":")
                message["load"].append(["node" if kind == "paired" else kind, name, len(lines)])
                lines.append(self._payload(kind, name))
        lines[0] = _dumps(message)
        started = time.monotonic()
        try:
            self.v8_calls += 1
            text = self._context.call("\n".join(lines), remaining)
        except SandboxError as exc:
            self._discard_context()
            raise self._limit_error(exc, parameter, expression) from exc
        finally:
            self._elapsed += time.monotonic() - started
        self._begun = True
        self._loaded.update(loads)
        for key in loads:
            if key.startswith("fields:"):
                self._fields.update(json.loads(key[len("fields:"):]))
        return text

    def _discard_context(self):
        context, self._context = self._context, None
        self._begun = False
        self._loaded.clear()
        self._fields.clear()
        pool.release(context)

    # -- what to send ----------------------------------------------------------------------------
    def _loads_for(self, sources, code):
        """The data these sources visibly need and the session has not sent yet. When expressions
        only read `$json.field`, only those fields are sent: serialising whole items is most of
        the cost of an evaluation over many items."""
        loads = []
        if self._data.items and "items" not in self._loaded and (code or any(ITEM_ACCESS.search(s) for s in sources)):
            fields = None if code else json_fields(sources)
            if fields is None:
                loads.append("items")
            elif fields - self._fields:
                loads.append("fields:" + json.dumps(sorted(fields - self._fields)))
        if self._binary_present() and "binary" not in self._loaded and (code or any("binary" in s for s in sources)):
            loads.append("binary")
        paired = any(PAIRED_ACCESS.search(s) for s in sources)
        for name in sorted(referenced_nodes(sources)):
            if f"paired:{name}" in self._loaded or (not paired and f"node:{name}" in self._loaded):
                continue
            loads.append(f"paired:{name}" if paired else f"node:{name}")
        return loads

    def _binary_present(self):
        if self._has_binary is None:
            self._has_binary = any(item.get("binary") for item in self._data.items)
        return self._has_binary

    def _payload(self, kind, name):
        items = self._data.items
        if kind == "items":
            return _dumps([item.get("json") or {} for item in items])
        if kind == "fields":
            return _dumps(_columns([item.get("json") or {} for item in items], json.loads(name)))
        if kind == "binary":
            return _dumps([item.get("binary") for item in items])
        return _dumps(self._node_payload(name, paired=kind == "paired"))

    def _meta(self):
        data = self._data
        mode = data.execution.get("mode")
        prev = data.prev_node or {}
        return {
            "node": data.node_name, "nodeType": data.node_type, "nodeVersion": data.type_version,
            "runIndex": data.run_index, "itemCount": len(data.items), "hasBinary": self._binary_present(),
            "timezone": data.timezone, "nowMs": data.now_ms, "workflow": data.workflow,
            # n8n's $execution.mode says "test" for manual runs and "production" otherwise.
            "execution": {**data.execution, "mode": "test" if mode == "manual" else "production"},
            "vars": data.variables, "prevNode": data.prev_node, "mode": mode,
            "parameters": data.node_parameters,
            "prevNodeParameters": _node_parameters(data, prev["name"]) if prev.get("name") else None,
            "prevNodeContext": _node_context(data, prev["name"]) if prev.get("name") else None,
        }

    def _node_payload(self, name, paired):
        proxy = self._data.proxy
        if name not in proxy.node_names:
            return {"exists": False}
        runs = proxy.run_data.get(name) or []
        payload = {
            "exists": True, "executed": bool(runs), "runs": [run.outputs or [] for run in runs],
            "branch": proxy.branch_toward(name), "params": _node_parameters(self._data, name),
            "context": _node_context(self._data, name),
        }
        if paired and runs:
            payload["paired"] = self._paired_references(name)
        return payload

    def _paired_references(self, name):
        """For each input item, [run, output, index] of the item of `name` it derives from."""
        try:
            return self._data.proxy.paired_positions(name)
        except ExpressionError:
            return [None] * len(self._data.items)

    # -- errors ----------------------------------------------------------------------------------
    def _error(self, info, parameter, item_index, expression):
        return ExpressionError(info.get("message") or "Unknown error", node=self._data.node_name,
                               parameter=parameter, item_index=item_index, expression=expression,
                               description=info.get("description"))

    def _limit_error(self, exc, parameter, expression):
        if isinstance(exc, SandboxTimeout):
            message = f"Execution timed out after {self._engine.time_limit_s:g} s"
        elif isinstance(exc, SandboxMemoryError):
            limit = min(self._engine.memory_limit_mb, SAFE_HEAP_LIMIT_MB)
            message = f"Execution used more than the {limit} MB memory limit"
        else:
            message = f"The JavaScript sandbox failed: {exc}"
        return self._error({"message": message}, parameter, None, expression)


def _columns(jsons, fields):
    """Fields of every item as columns, with the indexes of items that lack the field."""
    values = [[data.get(field) for data in jsons] for field in fields]
    missing = [[index for index, value in enumerate(column) if value is None and field not in jsons[index]]
               for field, column in zip(fields, values)]
    return {"keys": fields, "values": values, "missing": missing}


def _node_parameters(data, name):
    """Another node's parameters as written ($('X').params, $node["X"].parameter)."""
    if name == data.node_name:
        return data.node_parameters
    node = data.nodes.get(name)
    return node.parameters if node is not None else {}


def _node_context(data, name):
    """n8n's node context ($node["X"].context), which nodes such as Loop Over Items keep between
    runs: the runner's per-node state."""
    return data.node_states.get(name) or {}
