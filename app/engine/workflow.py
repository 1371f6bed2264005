"""Parse and validate n8n-compatible workflow JSON into a graph the engine can walk.

`validate(data)` returns every problem at once (errors and warnings, each naming its node), so the
UI and the CLI can show them all; `Workflow.parse(data)` raises `WorkflowInvalid` on errors and
keeps the warnings. A node type the registry does not know is a warning, as in n8n: such a
workflow can be stored and shown, but not run or activated.
"""
import functools
from dataclasses import dataclass, field
from numbers import Number
from zoneinfo import available_timezones

from app.engine.registry import registry as default_registry

ON_ERROR_CHOICES = ("stopWorkflow", "continueRegularOutput", "continueErrorOutput")
# Older n8n exports still carry `continueOnFail: true`, which n8n maps to continueRegularOutput.
LEGACY_CONTINUE_ON_FAIL = "continueRegularOutput"
BOOLEAN_NODE_FIELDS = ("disabled", "retryOnFail", "alwaysOutputData", "executeOnce", "continueOnFail")
EXECUTION_ORDERS = ("v0", "v1")


@dataclass(frozen=True)
class Problem:
    message: str
    node: str | None = None
    severity: str = "error"

    def __str__(self):
        return self.message


class WorkflowInvalid(ValueError):
    def __init__(self, problems):
        self.problems = [p for p in problems if p.severity == "error"]
        super().__init__("; ".join(str(p) for p in self.problems))


@dataclass
class Node:
    name: str
    type: str
    type_version: float = 1
    id: str | None = None
    position: tuple = (0, 0)
    parameters: dict = field(default_factory=dict)
    credentials: dict = field(default_factory=dict)
    disabled: bool = False
    retry_on_fail: bool = False
    max_tries: int = 3
    wait_between_tries: int = 1000
    on_error: str = "stopWorkflow"
    always_output_data: bool = False
    execute_once: bool = False
    notes: str = ""
    known: bool = False

    @classmethod
    def from_json(cls, entry, known):
        on_error = entry.get("onError") or (
            LEGACY_CONTINUE_ON_FAIL if entry.get("continueOnFail") else "stopWorkflow"
        )
        return cls(
            name=entry["name"], type=entry["type"], type_version=entry.get("typeVersion", 1),
            id=entry.get("id"), position=tuple(entry.get("position") or (0, 0)),
            parameters=entry.get("parameters") or {}, credentials=entry.get("credentials") or {},
            disabled=bool(entry.get("disabled")), retry_on_fail=bool(entry.get("retryOnFail")),
            max_tries=entry.get("maxTries", 3), wait_between_tries=entry.get("waitBetweenTries", 1000),
            on_error=on_error, always_output_data=bool(entry.get("alwaysOutputData")),
            execute_once=bool(entry.get("executeOnce")), notes=entry.get("notes") or "", known=known,
        )


@dataclass(frozen=True)
class Connection:
    source: str
    source_output: int
    target: str
    target_input: int
    type: str = "main"


@dataclass
class Workflow:
    name: str
    nodes: dict
    connections: list
    settings: dict = field(default_factory=dict)
    pin_data: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    @classmethod
    def parse(cls, data, registry=None):
        registry = registry or default_registry
        problems = validate(data, registry)
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            raise WorkflowInvalid(errors)
        nodes = {}
        for entry in data["nodes"]:
            nodes[entry["name"]] = Node.from_json(entry, known=registry.resolve(entry["type"]) is not None)
        return cls(
            name=data.get("name") or "", nodes=nodes,
            connections=list(iter_connections(data.get("connections") or {})),
            settings=data.get("settings") or {}, pin_data=data.get("pinData") or {},
            warnings=[p for p in problems if p.severity == "warning"],
        )

    @property
    def unknown_nodes(self):
        return [node for node in self.nodes.values() if not node.known]

    def children(self, name, type="main"):
        return [c for c in self.connections if c.source == name and c.type == type]

    def parents(self, name, type="main"):
        return [c for c in self.connections if c.target == name and c.type == type]


def iter_connections(connections):
    """Flatten n8n's {source: {type: [[target, …] per output]}} into Connection records."""
    for source, by_type in connections.items():
        for conn_type, outputs in by_type.items():
            for output_index, targets in enumerate(outputs or []):
                for target in targets or []:
                    yield Connection(
                        source=source, source_output=output_index, target=target["node"],
                        target_input=target.get("index", 0), type=target.get("type", conn_type),
                    )


def validate(data, registry=None):
    """Every problem with a workflow's JSON, as a list of Problems (empty when it is valid)."""
    registry = registry or default_registry
    if not isinstance(data, dict):
        return [Problem("The workflow must be a JSON object.")]
    problems = []
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        problems.append(Problem("The workflow name must be a string."))
    nodes = data.get("nodes")
    if not isinstance(nodes, list):
        problems.append(Problem('The workflow needs a "nodes" list.'))
        nodes = []
    names = _validate_nodes(nodes, registry, problems)
    _validate_connections(data.get("connections", {}), names, problems)
    _validate_settings(data.get("settings"), problems)
    _validate_pin_data(data.get("pinData"), names, problems)
    return problems


def _node_label(index, entry):
    name = entry.get("name") if isinstance(entry, dict) else None
    return f'Node "{name}"' if isinstance(name, str) and name else f"Node #{index + 1}"


def _validate_nodes(nodes, registry, problems):
    """Check each node entry; returns the set of valid node names."""
    names, ids = set(), {}
    for index, entry in enumerate(nodes):
        label = _node_label(index, entry)
        if not isinstance(entry, dict):
            problems.append(Problem(f"{label} must be a JSON object."))
            continue
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem(f"{label} needs a non-empty name."))
            continue
        if name in names:
            problems.append(Problem(f'{label}: the name "{name}" is used by more than one node; names must be unique.', name))
        names.add(name)
        node_id = entry.get("id")
        if node_id is not None:
            if not isinstance(node_id, str) or not node_id:
                problems.append(Problem(f"{label}: id must be a non-empty string.", name))
            elif node_id in ids and ids[node_id] != name:
                problems.append(Problem(f'{label}: id "{node_id}" is also used by node "{ids[node_id]}".', name))
            else:
                ids[node_id] = name
        problems.extend(_node_field_problems(entry, label, name))
        node_type = entry.get("type")
        if not isinstance(node_type, str) or not node_type.strip():
            problems.append(Problem(f"{label} needs a type (for example n8n-nodes-base.set).", name))
        elif registry.resolve(node_type) is None:
            problems.append(Problem(
                f'{label}: unknown node type "{node_type}"; the workflow cannot run until it exists.',
                name, "warning",
            ))
    return names


def _node_field_problems(entry, label, name):
    problems = []

    def add(message):
        problems.append(Problem(f"{label}: {message}", name))

    version = entry.get("typeVersion", 1)
    if not _is_number(version) or version <= 0:
        add("typeVersion must be a positive number.")
    position = entry.get("position", [0, 0])
    if not (isinstance(position, (list, tuple)) and len(position) == 2 and all(_is_number(v) for v in position)):
        add("position must be a list of two numbers [x, y].")
    if not isinstance(entry.get("parameters", {}), dict):
        add("parameters must be a JSON object.")
    credentials = entry.get("credentials", {})
    if not isinstance(credentials, dict) or not all(
        isinstance(ref, dict) and ("id" in ref or "name" in ref) for ref in credentials.values()
    ):
        add('credentials must map a credential type to {"id": …, "name": …}.')
    for key in BOOLEAN_NODE_FIELDS:
        if key in entry and not isinstance(entry[key], bool):
            add(f"{key} must be true or false.")
    on_error = entry.get("onError")
    if on_error is not None and on_error not in ON_ERROR_CHOICES:
        add(f"onError must be one of {', '.join(ON_ERROR_CHOICES)}, not {on_error!r}.")
    max_tries = entry.get("maxTries")
    if max_tries is not None and (not _is_integer(max_tries) or max_tries < 1):
        add("maxTries must be a whole number of at least 1.")
    wait = entry.get("waitBetweenTries")
    if wait is not None and (not _is_integer(wait) or wait < 0):
        add("waitBetweenTries must be a whole number of milliseconds, 0 or more.")
    if not isinstance(entry.get("notes", ""), str):
        add("notes must be text.")
    return problems


def _validate_connections(connections, names, problems):
    if not isinstance(connections, dict):
        problems.append(Problem('"connections" must be a JSON object keyed by node name.'))
        return
    for source, by_type in connections.items():
        label = f'Connection from "{source}"'
        if source not in names:
            problems.append(Problem(f'{label}: there is no node named "{source}".', source))
            continue
        if not isinstance(by_type, dict):
            problems.append(Problem(f'{label} must map a connection type ("main") to outputs.', source))
            continue
        for conn_type, outputs in by_type.items():
            if not isinstance(outputs, list):
                problems.append(Problem(f'{label}: "{conn_type}" must be a list of outputs.', source))
                continue
            for output_index, targets in enumerate(outputs):
                _validate_targets(targets, f"{label}, output {output_index}", source, names, problems)


def _validate_targets(targets, label, source, names, problems):
    if targets is None:
        return
    if not isinstance(targets, list):
        problems.append(Problem(f"{label} must be a list of targets.", source))
        return
    for target in targets:
        if not isinstance(target, dict) or not isinstance(target.get("node"), str):
            problems.append(Problem(f'{label}: each target needs a "node" name.', source))
        elif target["node"] not in names:
            problems.append(Problem(f'{label} points at "{target["node"]}", which is not a node of this workflow.', source))
        elif not _is_integer(target.get("index", 0)) or target.get("index", 0) < 0:
            problems.append(Problem(f'{label} → "{target["node"]}": the input index must be a whole number, 0 or more.', source))


def _validate_settings(settings, problems):
    if settings is None:
        return
    if not isinstance(settings, dict):
        problems.append(Problem('"settings" must be a JSON object.'))
        return
    timezone = settings.get("timezone")
    if timezone not in (None, "", "DEFAULT") and timezone not in _timezones():
        problems.append(Problem(f'Settings: "{timezone}" is not a known time zone (for example Europe/Berlin).'))
    timeout = settings.get("executionTimeout")
    if timeout is not None and not _is_number(timeout):
        problems.append(Problem("Settings: executionTimeout must be a number of seconds (-1 for none)."))
    order = settings.get("executionOrder")
    if order is not None and order not in EXECUTION_ORDERS:
        problems.append(Problem(f'Settings: executionOrder must be "v0" or "v1", not {order!r}.'))


def _validate_pin_data(pin_data, names, problems):
    if pin_data is None:
        return
    if not isinstance(pin_data, dict):
        problems.append(Problem('"pinData" must be a JSON object keyed by node name.'))
        return
    for node_name, items in pin_data.items():
        if node_name not in names:
            problems.append(Problem(f'Pinned data for "{node_name}": there is no node with that name.', node_name))
        elif not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            problems.append(Problem(f'Node "{node_name}": pinned data must be a list of items (JSON objects).', node_name))


@functools.cache
def _timezones():
    return available_timezones() | {"UTC"}


def _is_number(value):
    return isinstance(value, Number) and not isinstance(value, bool)


def _is_integer(value):
    return isinstance(value, int) and not isinstance(value, bool)
