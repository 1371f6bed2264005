"""Run data in n8n's shape, and the read-only view of it that expressions get.

`runData[name]` is a list of runs; each run records when it started, how long it took, its
status, where its input came from (`source`, one entry per input) and its items per output.
Paired items (`pairedItem: {"item": k, "input": x}`) link an output item to the input item it came
from, so `$('Node').item` can walk back from the current item to the item of an earlier node.
"""
import time
from dataclasses import dataclass, field

from app.engine.errors import ExpressionError

# How many nodes a lookup walks back through before giving up (a guard against cycles).
MAX_TRACE_STEPS = 10_000


def now_ms():
    return int(time.time() * 1000)


@dataclass
class NodeRun:
    start_time: int
    source: list
    execution_time: int = 0
    status: str = "success"
    outputs: list | None = None
    error: dict | None = None
    # Lines a Code node printed with console.log / print during this run.
    console: list = field(default_factory=list)

    def to_json(self):
        data = {
            "startTime": self.start_time,
            "executionTime": self.execution_time,
            "executionStatus": self.status,
            "source": self.source,
            "data": {"main": self.outputs} if self.outputs is not None else None,
        }
        if self.error is not None:
            data["error"] = self.error
        if self.console:
            data["console"] = self.console
        return data

    @classmethod
    def from_json(cls, data):
        main = (data.get("data") or {}).get("main")
        return cls(
            start_time=data.get("startTime", 0), source=data.get("source") or [],
            execution_time=data.get("executionTime", 0), status=data.get("executionStatus", "success"),
            outputs=main, error=data.get("error"), console=data.get("console") or [],
        )


def run_data_to_json(run_data):
    return {name: [run.to_json() for run in runs] for name, runs in run_data.items()}


def run_data_from_json(data):
    return {name: [NodeRun.from_json(run) for run in runs] for name, runs in (data or {}).items()}


def _paired_refs(item):
    """The (item index, input index, source overwrite) references an item says it came from. A
    reference may name its source explicitly: Loop Over Items hands out items an earlier run of it
    received, so their lineage continues there, not at the node that looped back."""
    paired = item.get("pairedItem")
    if paired is None:
        return []
    entries = paired if isinstance(paired, list) else [paired]
    return [(entry, 0, None) if isinstance(entry, int)
            else (entry.get("item", 0), entry.get("input") or 0, entry.get("sourceOverwrite"))
            for entry in entries]


class DataProxy:
    """What an expression in one node run may read: its input and earlier nodes' output.

    `source` is the current run's source list (one entry per input), so the current input item i
    is item i of the source node's output.
    """

    def __init__(self, run_data, node_name, source, input_items, node_names):
        self.run_data = run_data
        self.node_name = node_name
        self.source = source
        self.input_items = input_items
        self.node_names = set(node_names)

    def has_run(self, name):
        return bool(self.run_data.get(name))

    def node_items(self, name, output_index=0, run_index=None):
        """Items of `name`'s output (its last run unless `run_index` says otherwise)."""
        self._check_node(name)
        runs = self.run_data.get(name)
        if not runs:
            raise ExpressionError(f'Referenced node "{name}" has not been executed yet')
        run = runs[-1 if run_index is None else run_index]
        outputs = run.outputs or []
        return outputs[output_index] if output_index < len(outputs) else []

    def paired_items(self, name):
        """For each current input item, the item of node `name` it derives from (or None)."""
        self._check_node(name)
        if not self.has_run(name):
            raise ExpressionError(f'Referenced node "{name}" has not been executed yet')
        source = self.source[0] if self.source else None
        return [self._trace(source, index, name) for index in range(len(self.input_items))]

    def _check_node(self, name):
        if name not in self.node_names:
            raise ExpressionError(f'Referenced node "{name}" does not exist')

    def _trace(self, source, item_index, target, depth=0):
        """Walk pairedItem links from item `item_index` of `source`'s output back to `target`.
        An item made of several (Merge) is followed along each of them, as in n8n: the answer
        is the one item they lead to, or None when they lead nowhere or to different items."""
        seen = 0
        while source is not None:
            node = source["previousNode"]
            runs = self.run_data.get(node) or []
            run_index = source.get("previousNodeRun") or 0
            if run_index >= len(runs):
                return None
            run = runs[run_index]
            outputs = run.outputs or []
            output = source.get("previousNodeOutput") or 0
            items = (outputs[output] or []) if output < len(outputs) else []
            if item_index >= len(items):
                return None
            item = items[item_index]
            if node == target:
                return item
            refs = [(index, overwrite or (run.source[input_index] if input_index < len(run.source) else None))
                    for index, input_index, overwrite in _paired_refs(item)]
            if len(refs) != 1:
                return self._trace_each(refs, target, depth)
            (item_index, source), = refs
            seen += 1
            if seen > MAX_TRACE_STEPS:
                return None
        return None

    def _trace_each(self, refs, target, depth):
        if depth > 100:
            return None
        found = [self._trace(source, index, target, depth + 1) for index, source in refs if source is not None]
        distinct = {id(item): item for item in found if item is not None}
        return next(iter(distinct.values())) if len(distinct) == 1 else None

    def paired_positions(self, name):
        """For each current input item, [run, output, index] of the item of `name` it derives
        from (None when it derives from none); for sandboxes that hold `name`'s runs as arrays."""
        position = {}
        for run_index, run in enumerate(self.run_data.get(name) or []):
            for output_index, items in enumerate(run.outputs or []):
                for index, item in enumerate(items or []):
                    position[id(item)] = [run_index, output_index, index]
        return [None if item is None else position.get(id(item)) for item in self.paired_items(name)]

    def branch_toward(self, name):
        """The output of `name` whose data flowed (maybe through other nodes) into this node: the
        one n8n reads when an expression or code names a node without saying which output."""
        source = self.source[0] if self.source else None
        for _ in range(MAX_TRACE_STEPS):
            if source is None:
                break
            if source["previousNode"] == name:
                return source.get("previousNodeOutput") or 0
            runs = self.run_data.get(source["previousNode"]) or []
            run_index = source.get("previousNodeRun") or 0
            if run_index >= len(runs) or not runs[run_index].source:
                break
            source = runs[run_index].source[0]
        return 0
