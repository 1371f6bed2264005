"""Run a workflow: n8n's execution order ("v1", and the legacy "v0" of older exports).

Decide, then act: `choose_next()` is a pure function over the execution stack and the nodes that
wait for more input; it says which node runs next, and `waiting_reasons()` says why the others
wait. `WorkflowRunner.run()` is the loop that runs the chosen node, records its run in n8n's
run-data shape, and schedules its children.

Order rules (as n8n's WorkflowExecute):
- v1: children go to the *front* of the stack (depth first), sorted so the upper (then left)
  node runs first; a multi-input node runs once every input has data, or, when nothing else is
  left to run, with what it has (missing inputs empty).
- v0: children go to the *back* (breadth first); connections to a second input fire even on
  empty output; a node whose inputs are not all there is pushed back.
"""
import functools
import threading
import time
from dataclasses import dataclass, field

from app.engine.context import CancelToken, ExpressionData, NodeExecutionContext
from app.engine.errors import (
    ExecutionError, NodeError, WorkflowCanceled, WorkflowNotRunnable, WorkflowTimeout,
)
from app.engine.gc_pause import paused_gc
from app.engine.graph import Graph
from app.engine.items import paired_item, paired_items
from app.engine.registry import registry as default_registry
from app.engine.run_data import DataProxy, NodeRun, now_ms, run_data_to_json

MAX_TRIES_RANGE = (2, 5)
WAIT_BETWEEN_TRIES_MAX_MS = 5000

@dataclass
class StackEntry:
    node: str
    inputs: list
    source: list | None
    run_index: int | None = None


@dataclass
class Choice:
    entry: StackEntry
    from_waiting: tuple | None = None  # (node, waiting index) when released from the waiting list


@dataclass
class ExecutionResult:
    status: str
    run_data: dict
    last_node_executed: str | None = None
    error: dict | None = None
    started_at: float = 0.0
    stopped_at: float = 0.0

    def to_json(self):
        return {
            "status": self.status,
            "runData": run_data_to_json(self.run_data),
            "lastNodeExecuted": self.last_node_executed,
            "error": self.error,
        }


class RunHooks:
    """Observers of a run (live events, heartbeats). Every method is optional."""

    def workflow_started(self, runner):
        pass

    def node_started(self, node_name, run_index):
        pass

    def node_finished(self, node_name, run_index, run):
        pass

    def workflow_finished(self, result):
        pass


def choose_next(stack, waiting, graph, settings, node_types):
    """The next entry to run: the stack's head, else (v1, or v0 with optional inputs) a node
    waiting with partial input whose parents are all done. None when nothing can run."""
    if stack:
        return Choice(stack[0])
    for name, slots in waiting.items():
        if any(parent in waiting for parent in graph.ancestors(name)):
            continue
        node_type = node_types.get(name)
        required = node_type.required_inputs_for(graph.workflow.nodes[name]) \
            if node_type is not None and settings.get("executionOrder") == "v1" else None
        first = min(slots)
        slot = slots[first]
        with_data = [i for i, data in enumerate(slot["inputs"]) if data is not None]
        if required is not None and not _required_inputs_met(required, with_data, node_type):
            continue
        inputs = [data if data is not None else [] for data in slot["inputs"]]
        return Choice(StackEntry(name, inputs, slot["source"]), from_waiting=(name, first))
    return None


def _required_inputs_met(required, with_data, node_type):
    if isinstance(required, int):
        return len(with_data) >= required and required < len(node_type.inputs)
    return all(index in with_data for index in required) and len(required) < len(node_type.inputs)


def waiting_reasons(waiting, graph):
    """Why each waiting node has not run yet: which inputs it still lacks."""
    reasons = {}
    for name, slots in waiting.items():
        slot = slots[min(slots)]
        missing = [i for i, data in enumerate(slot["inputs"]) if data is None]
        parents = {i: [c.source for c in graph.input_connections(name, i)] for i in missing}
        reasons[name] = "waiting for " + ", ".join(
            f"input {i + 1} (from {', '.join(parents[i]) or 'nothing'})" for i in missing
        )
    return reasons


def _n8n_position_order(a, b):
    """n8n's comparator for children to add in v1 (they are then pushed to the front one by one)."""
    (ax, ay), (bx, by) = a["position"][:2], b["position"][:2]
    if ay < by:
        return 1
    if ay > by:
        return -1
    if ax > bx:
        return -1
    return 0


class WorkflowRunner:
    def __init__(self, workflow, *, expression_engine, registry=None, mode="manual", start_node=None,
                 start_data=None, destination_node=None, run_data=None, pin_data=None,
                 cancel_token=None, hooks=None, execution_id=None, workflow_meta=None,
                 variables=None, now=None, workflow_loader=None):
        self.workflow = workflow
        self.graph = Graph(workflow)
        self.registry = registry or default_registry
        self.expression_engine = expression_engine
        self.mode = mode
        self.settings = workflow.settings or {}
        self.v1 = self.settings.get("executionOrder") == "v1"
        self.pin_data = _normalize_pin_data(workflow.pin_data if pin_data is None else pin_data)
        self.cancel_token = cancel_token or CancelToken()
        self.hooks = hooks or RunHooks()
        self.execution_id = execution_id
        self.workflow_meta = workflow_meta or {"id": None, "name": workflow.name, "active": False}
        self.variables = variables or {}
        self.now = now
        self.workflow_loader = workflow_loader
        self.node_states = {}
        self._start_node = start_node
        self._start_data = start_data
        self._destination = destination_node
        self._prior_run_data = run_data
        self.node_types = {}
        self.run_data = {}
        self.stack = []
        self.waiting = {}
        self.last_node = None
        self.run_filter = None
        self._deadline = None
        self._timer = None
        self._failed_error = None

    # -- set-up ----------------------------------------------------------------------------------
    def _resolve_types(self):
        unknown = []
        for name, node in self.workflow.nodes.items():
            node_type = self.registry.resolve(node.type)
            if node_type is None:
                unknown.append(f'"{name}" ({node.type})')
            else:
                self.node_types[name] = node_type()
        return unknown

    def _check_runnable(self, start):
        unknown = self._resolve_types()
        reachable = {start, *self.graph.descendants(start)}
        if self._destination:
            reachable |= {self._destination, *self.graph.ancestors(self._destination)}
        blocking = [u for u in unknown if u.split('"')[1] in reachable]
        if blocking:
            raise WorkflowNotRunnable(
                "The workflow has nodes of unknown types and cannot run: " + ", ".join(blocking)
            )

    def find_start_node(self):
        if self._start_node:
            if self._start_node not in self.workflow.nodes:
                raise WorkflowNotRunnable(f'There is no node named "{self._start_node}" to start from')
            return self._start_node
        candidates = [n for n in self.workflow.nodes.values() if not n.disabled]
        if self._destination:
            allowed = set(self.graph.ancestors(self._destination)) | {self._destination}
            candidates = [n for n in candidates if n.name in allowed]
        for node in candidates:
            node_type = self.registry.resolve(node.type)
            if node_type is not None and node_type.is_trigger:
                return node.name
        for node in candidates:
            node_type = self.registry.resolve(node.type)
            executable = node_type is None or node_type.executable
            if executable and not self.graph.direct_parents(node.name):
                return node.name
        raise WorkflowNotRunnable("No node to start the workflow from could be found")

    def _prepare(self):
        start = self.find_start_node()
        self._check_runnable(start)
        if self._destination:
            if self._destination not in self.workflow.nodes:
                raise WorkflowNotRunnable(f'There is no node named "{self._destination}"')
            self.run_filter = set(self.graph.ancestors(self._destination)) | {self._destination}
        if self._prior_run_data and self._destination:
            self._prepare_partial(start)
        else:
            data = self._start_data if self._start_data is not None else [{"json": {}}]
            self.stack = [StackEntry(start, [data], None)]
        timeout = self.settings.get("executionTimeout")
        if isinstance(timeout, (int, float)) and timeout > 0:
            self._deadline = time.monotonic() + timeout
            # Cancelling on the deadline also wakes a node that is waiting or sleeping.
            self._timer = threading.Timer(timeout, self.cancel_token.cancel, args=(self._timeout_message(),))
            self._timer.daemon = True
            self._timer.start()

    def _timeout_message(self):
        return (f"The execution was canceled because it ran longer than its timeout "
                f"({self.settings.get('executionTimeout')} s)")

    def _prepare_partial(self, trigger):
        """Run only what the destination still needs: reuse the runs of nodes that have run data
        and start from the first nodes on the way to the destination that do not."""
        needed = self.run_filter
        prior = {name: runs for name, runs in self._prior_run_data.items() if name in needed and runs}
        self.run_data = {name: list(runs) for name, runs in prior.items() if name != self._destination}
        starts = []
        for name in [trigger, *self.graph.descendants(trigger)]:
            if name not in needed or name in self.run_data:
                continue
            parents = [p for p in self.graph.direct_parents(name) if p in needed]
            if all(p in self.run_data or p in self.pin_data for p in parents):
                starts.append(name)
        if not starts:
            starts = [trigger]
        for name in starts:
            self.stack.append(self._entry_from_parents(name, trigger))

    def _entry_from_parents(self, name, trigger):
        slots = self.graph.input_slots(name)
        if not slots:
            return StackEntry(name, [self._start_data or [{"json": {}}]], None)
        inputs, source = [], []
        for index in range(slots):
            data, src = None, None
            for conn in self.graph.input_connections(name, index):
                runs = self.run_data.get(conn.source)
                if runs:
                    outputs = runs[-1].outputs or []
                    data = outputs[conn.source_output] if conn.source_output < len(outputs) else []
                    src = {"previousNode": conn.source, "previousNodeOutput": conn.source_output,
                           "previousNodeRun": len(runs) - 1}
                elif conn.source in self.pin_data:
                    data = self.pin_data[conn.source]
                    src = {"previousNode": conn.source, "previousNodeOutput": 0, "previousNodeRun": 0}
            inputs.append(data if data is not None else [])
            source.append(src)
        return StackEntry(name, inputs, source)

    # -- the loop --------------------------------------------------------------------------------
    def run(self):
        started = time.time()
        try:
            with paused_gc():
                status, error = self._loop()
        except (WorkflowCanceled, WorkflowTimeout) as exc:
            status, error = "canceled", exc.to_json()
        except ExecutionError as exc:
            status, error = "error", exc.to_json()
        finally:
            if self._timer is not None:
                self._timer.cancel()
        result = ExecutionResult(status, self.run_data, self.last_node, error, started, time.time())
        self.hooks.workflow_finished(result)
        return result

    def _loop(self):
        """Run nodes until nothing is left to run; returns (status, error)."""
        self._prepare()
        self.hooks.workflow_started(self)
        last_try = None
        while True:
            self._check_stop()
            choice = choose_next(self.stack, self.waiting, self.graph, self.settings, self.node_types)
            if choice is None:
                return "success", None
            self._take(choice)
            entry = choice.entry
            run_index = entry.run_index if entry.run_index is not None else len(self.run_data.get(entry.node, []))
            current_try = (entry.node, run_index)
            if current_try == last_try:
                raise ExecutionError("Stopped execution because it seems to be in an endless loop")
            if self.run_filter is not None and entry.node not in self.run_filter:
                continue
            if not self._ensure_input_data(entry):
                last_try = current_try
                continue
            if not self._run_entry(entry, run_index):
                return "error", self._failed_error

    def _check_stop(self):
        if self.cancel_token.cancelled:
            raise WorkflowCanceled(self.cancel_token.reason or "The execution was canceled")
        if self._deadline is not None and time.monotonic() >= self._deadline:
            raise WorkflowTimeout(self._timeout_message())

    def _take(self, choice):
        if choice.from_waiting is None:
            self.stack.pop(0)
            return
        name, index = choice.from_waiting
        del self.waiting[name][index]
        if not self.waiting[name]:
            del self.waiting[name]

    def _ensure_input_data(self, entry):
        """v0: a node runs only with data on every connected input; otherwise it goes to the back."""
        if self.v1:
            return True
        for index in range(self.graph.input_slots(entry.node)):
            if index >= len(entry.inputs) or entry.inputs[index] is None:
                self.stack.append(entry)
                return False
        return True

    # -- one node run ----------------------------------------------------------------------------
    def _run_entry(self, entry, run_index):
        """Run one stack entry; returns False when the execution must stop on its error."""
        name = entry.node
        node = self.workflow.nodes[name]
        node_type = self.node_types.get(name)
        if node.disabled or node_type is None or node_type.reuses_input_items:
            entry.inputs = _with_lineage(entry.inputs)
        if self._nothing_to_run(entry, node, node_type):
            return True  # no input reached it: its branch ends here without a run
        run = NodeRun(start_time=now_ms(), source=entry.source or [])
        self.hooks.node_started(name, run_index)
        outputs, error = self._attempts(entry, node, run_index, run)
        if error is None and outputs is None:
            run.outputs = None
            self.hooks.node_finished(name, run_index, run)
            return True
        self.run_data.setdefault(name, [])
        run.execution_time = now_ms() - run.start_time
        if error is not None:
            run.status = "error"
            run.error = error.to_json()
            if node.on_error == "stopWorkflow":
                run.outputs = None
                self._store_run(name, run_index, run)
                self.last_node = name
                self._failed_error = run.error
                self.hooks.node_finished(name, run_index, run)
                return False
            outputs = [entry.inputs[0]] if entry.inputs and entry.inputs[0] is not None else None
            if outputs is None:
                self._store_run(name, run_index, run)
                self.hooks.node_finished(name, run_index, run)
                return True
        _normalize_item_errors(outputs)
        run.outputs = outputs
        self._store_run(name, run_index, run)
        if self._destination != name:
            self._schedule_children(name, outputs, run_index)
        self.hooks.node_finished(name, run_index, run)
        return True

    def _nothing_to_run(self, entry, node, node_type):
        if node.name in self.pin_data and not node.disabled:
            return False
        if node.disabled:
            return not entry.inputs or entry.inputs[0] is None
        if node_type is None or not node_type.executable:
            return True
        return self._connection_input(entry, node, node_type) is None

    def _store_run(self, name, run_index, run):
        runs = self.run_data.setdefault(name, [])
        if run_index < len(runs):
            runs[run_index] = run
        else:
            runs.append(run)

    def _attempts(self, entry, node, run_index, run):
        """Run the node with its retry settings; returns (outputs or None, error or None)."""
        tries, wait_ms = self._retry_params(node)
        error = None
        for attempt in range(tries):
            if attempt:
                self._check_stop()
                if wait_ms and self.cancel_token.wait(wait_ms / 1000):
                    self._check_stop()
            error = None
            try:
                outputs = self._execute(entry, node, run_index, run)
            except (WorkflowCanceled, WorkflowTimeout):
                raise
            except ExecutionError as exc:
                error = exc
                if exc.node is None:
                    exc.node = node.name
                continue
            except Exception as exc:  # a bug or an unexpected library error in a node
                error = NodeError(f"{type(exc).__name__}: {exc}", node=node.name)
                continue
            if outputs and attempt < tries - 1 and _first_item_failed(outputs):
                continue
            outputs = self._assign_paired_items(outputs, entry)
            if outputs is not None:
                self.last_node = node.name
            outputs = self._always_output(outputs, entry, node)
            return outputs, None
        self.last_node = node.name
        return None, error

    def _retry_params(self, node):
        if not node.retry_on_fail:
            return 1, 0
        low, high = MAX_TRIES_RANGE
        tries = min(high, max(low, node.max_tries or 3))
        wait = min(WAIT_BETWEEN_TRIES_MAX_MS, max(0, node.wait_between_tries or 0))
        return tries, wait

    def _execute(self, entry, node, run_index, run):
        if not node.disabled and node.name in self.pin_data:
            return [self.pin_data[node.name]]
        if node.disabled:
            first = entry.inputs[0] if entry.inputs else None
            return None if first is None else [first]
        node_type = self.node_types[node.name]
        if not node_type.executable:
            return None
        items = self._connection_input(entry, node, node_type)
        if items is None:
            return None
        inputs = entry.inputs
        if node.execute_once:
            inputs = [data[:1] if data else data for data in inputs]
            items = items[:1]
        ctx = self._context(node, node_type, inputs, items, run_index, entry)
        try:
            outputs = node_type.execute(ctx)
        finally:
            run.console.extend(ctx.console)
            ctx.close()
        outputs = _check_outputs(node.name, outputs)
        if outputs is not None and node.on_error == "continueErrorOutput":
            outputs = self._route_error_items(outputs, entry, node_type, node)
        return outputs

    def _connection_input(self, entry, node, node_type):
        """n8n's connectionInputData: the items expressions and `$input` see."""
        if node_type.is_trigger:
            return entry.inputs[0] if entry.inputs else []
        if not entry.inputs:
            return None
        items = entry.inputs[0]
        if self.v1:
            for data in entry.inputs:
                if data:
                    items = data
                    break
        elif not items and entry.source and entry.source[0] is None:
            # An empty first input that can no longer get data: a loop back into this node keeps
            # the loop running (n8n's rule for the legacy order).
            descendants = self.graph.descendants(node.name)
            for data, src in zip(entry.inputs, entry.source):
                if data and src and (src["previousNode"] == node.name or src["previousNode"] in descendants):
                    items = data
                    break
        return items or None

    def _context(self, node, node_type, inputs, items, run_index, entry):
        source = entry.source or []
        first_source = source[0] if source else None
        proxy = DataProxy(self.run_data, node.name, source, items, self.workflow.nodes.keys())
        expression_data = ExpressionData(
            node_name=node.name, node_type=node.type, node_parameters=node.parameters,
            type_version=node.type_version, run_index=run_index, items=items, proxy=proxy,
            workflow=self.workflow_meta,
            execution={"id": self.execution_id, "mode": self.mode, "resumeUrl": None},
            prev_node={"name": first_source["previousNode"],
                       "outputIndex": first_source.get("previousNodeOutput") or 0,
                       "runIndex": first_source.get("previousNodeRun") or 0} if first_source else None,
            timezone=self.settings.get("timezone") or "UTC", variables=self.variables, now_ms=self.now,
            node_states=self.node_states, nodes=self.workflow.nodes,
        )
        return NodeExecutionContext(
            node=node, node_type=node_type, inputs=[data or [] for data in inputs], run_index=run_index,
            expression_data=expression_data, expression_engine=self.expression_engine,
            cancel_token=self.cancel_token, mode=self.mode, execution_id=self.execution_id,
            workflow=self.workflow, settings=self.settings,
            node_state=self.node_states.setdefault(node.name, {}), workflow_loader=self.workflow_loader,
        )

    def _assign_paired_items(self, outputs, entry):
        """n8n's auto-fill of missing pairedItem: one input item, or as many items in as out."""
        if not outputs:
            return outputs
        inputs = entry.inputs
        single_input = len(inputs) == 1
        in_count = len(inputs[0]) if single_input and inputs[0] is not None else None
        one_in = single_input and in_count == 1
        same_count = len(outputs) == 1 and single_input and in_count == len(outputs[0])
        one_out = len(outputs) == 1 and len(outputs[0]) == 1 and single_input and (in_count or 0) > 1
        for output in outputs:
            if output is None:
                continue
            for index, item in enumerate(output):
                if "pairedItem" in item:
                    continue
                if one_in or one_out:
                    item["pairedItem"] = paired_item(0)
                elif same_count:
                    item["pairedItem"] = paired_item(index)
                else:
                    return outputs
        return outputs

    def _always_output(self, outputs, entry, node):
        if not node.always_output_data or (outputs and outputs[0]):
            return outputs
        paired = [{"item": i, "input": k} for k, data in enumerate(entry.inputs) if data for i in range(len(data))]
        outputs = list(outputs or [[]])
        outputs[0] = [{"json": {}, "pairedItem": paired}]
        return outputs

    def _route_error_items(self, outputs, entry, node_type, node):
        """continueErrorOutput: items a node marked as failed move to the extra last output."""
        count = node_type.output_count(node) + 1
        outputs = list(outputs) + [[] for _ in range(count - len(outputs))]
        errors = []
        for index in range(count - 1):
            kept = []
            for item in outputs[index] or []:
                if not _is_error_item(item):
                    kept.append(item)
                    continue
                errors.append(self._error_item_with_input(item, entry))
            outputs[index] = kept
        outputs[count - 1] = errors
        return outputs

    def _error_item_with_input(self, item, entry):
        paired = item.get("pairedItem")
        if isinstance(paired, list):
            paired = paired[0] if paired else None
        if not isinstance(paired, dict):
            return item
        data = entry.inputs[paired.get("input") or 0] or []
        index = paired.get("item", 0)
        if index >= len(data):
            return item
        return {**item, "json": {**data[index]["json"], **item["json"]}}

    # -- scheduling ------------------------------------------------------------------------------
    def _schedule_children(self, name, outputs, run_index):
        to_add = []
        for output_index, conns in self.graph.outputs_of(name):
            data = outputs[output_index] if output_index < len(outputs) else None
            if data is None:
                continue
            for conn in conns:
                if not (data or (conn.target_input > 0 and not self.v1)):
                    continue
                if self.v1:
                    position = self.workflow.nodes[conn.target].position
                    to_add.append({"position": position, "conn": conn, "output": output_index})
                else:
                    self._add_node(conn, output_index, name, outputs, run_index)
        if self.v1:
            to_add.sort(key=functools.cmp_to_key(_n8n_position_order))
            for entry in to_add:
                self._add_node(entry["conn"], entry["output"], name, outputs, run_index)

    def _enqueue(self, entry):
        if self.v1:
            self.stack.insert(0, entry)
        else:
            self.stack.append(entry)

    def _add_node(self, conn, output_index, parent, outputs, run_index):
        """n8n's addNodeToBeExecuted: run the child now, or park its input until all inputs are in."""
        target = conn.target
        source = {"previousNode": parent, "previousNodeOutput": output_index, "previousNodeRun": run_index}
        data = outputs[output_index]
        slots = self.graph.input_slots(target)
        if slots <= 1:
            inputs = [None] * (conn.target_input + 1)
            inputs[conn.target_input] = data
            self._enqueue(StackEntry(target, inputs, [source]))
            return
        node_was_waiting = target in self.waiting
        slots_by_index = self.waiting.setdefault(target, {})
        index = next((i for i, slot in slots_by_index.items() if slot["inputs"][conn.target_input] is None), None)
        if index is None:
            index = len(slots_by_index)
            slots_by_index[index] = {"inputs": [None] * slots, "source": [None] * slots}
        slot = slots_by_index[index]
        slot["inputs"][conn.target_input] = data
        slot["source"][conn.target_input] = source
        if all(d is not None for d in slot["inputs"]):
            self._enqueue(StackEntry(target, slot["inputs"], slot["source"]))
            del slots_by_index[index]
            if not slots_by_index:
                del self.waiting[target]
            return
        if not node_was_waiting and not self.v1:
            self._force_other_parents(target, parent, output_index, outputs, run_index)

    def _force_other_parents(self, target, parent, output_index, outputs, run_index):
        """v0 only: make sure the other inputs of a multi-input node will get data, by starting
        the nearest upstream node of each that has not run and is not scheduled."""
        sibling_targets = set(self.graph.direct_children(parent))
        for index in range(self.graph.input_slots(target)):
            for conn in self.graph.input_connections(target, index):
                other = conn.source
                if other == parent:
                    continue
                scheduled = {entry.node for entry in self.stack}
                if other in sibling_targets and not self._incoming_empty(other, run_index):
                    continue
                if other in scheduled or other in self.run_data:
                    continue
                node_to_add = other
                for candidate in reversed([*self.graph.ancestors(other), other]):
                    if candidate != other and candidate in sibling_targets:
                        node_to_add = None
                        break
                    if candidate in scheduled:
                        node_to_add = None
                        break
                    if candidate in self.run_data:
                        break
                    node_to_add = candidate
                if node_to_add is None:
                    continue
                if parent in self.graph.ancestors(node_to_add) and not outputs[output_index]:
                    continue
                if not self.graph.input_slots(node_to_add) or self._incoming_empty(node_to_add, run_index):
                    self._enqueue(StackEntry(node_to_add, [[{"json": {}}]], [
                        {"previousNode": parent, "previousNodeOutput": output_index, "previousNodeRun": run_index}
                    ]))

    def _incoming_empty(self, name, run_index):
        for conn in self.graph.input_connections(name, 0):
            runs = self.run_data.get(conn.source) or []
            if run_index < len(runs):
                outputs = runs[run_index].outputs or []
                if conn.source_output < len(outputs) and outputs[conn.source_output]:
                    return False
        return True


def _with_lineage(inputs):
    """Stamp every input item with its position (n8n does this before each node runs), so a
    node returning input items unchanged still says where each one came from."""
    stamped = []
    for input_index, data in enumerate(inputs):
        if data is None:
            stamped.append(None)
            continue
        if input_index:
            stamped.append([{**item, "pairedItem": {"item": i, "input": input_index}} for i, item in enumerate(data)])
        else:
            refs = paired_items(len(data))
            stamped.append([{**item, "pairedItem": refs[i]} for i, item in enumerate(data)])
    return stamped


def _normalize_pin_data(pin_data):
    return {
        name: [item if isinstance(item, dict) and "json" in item else {"json": item} for item in items]
        for name, items in (pin_data or {}).items()
    }


def _check_outputs(node_name, outputs):
    if outputs is None:
        return None
    if not isinstance(outputs, list) or not all(o is None or isinstance(o, list) for o in outputs):
        raise NodeError("The node returned data in an unexpected shape", node=node_name)
    return outputs


def _first_item_failed(outputs):
    first = outputs[0][0] if outputs and outputs[0] else None
    return bool(first and isinstance(first.get("json"), dict) and first["json"].get("error") not in (None, False))


def _is_error_item(item):
    if item.get("error"):
        return True
    data = item.get("json")
    return bool(isinstance(data, dict) and data.get("error") and set(data) <= {"error", "message", "details"})


def _normalize_item_errors(outputs):
    for output in outputs or []:
        for item in output or []:
            error = item.get("error")
            if error is not None:
                message = error.get("message") if isinstance(error, dict) else str(error)
                item["json"] = {"error": message}
                del item["error"]
