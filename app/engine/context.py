"""What a node sees while it runs: its input, its parameters (expressions resolved), and helpers.

Parameters are resolved in batches: the first time a node asks for a parameter, it is evaluated
for every input item in one call into the expression engine, and the result is cached for the
rest of the node run (DESIGN.md: one V8 call per parameter per node run).
"""
import threading
from dataclasses import dataclass, field

from app.engine.errors import NodeError, WorkflowCanceled

_MISSING = object()


def has_expression(value):
    """Whether a parameter value (at any depth) holds an `=`-prefixed expression string."""
    if isinstance(value, str):
        return value.startswith("=")
    if isinstance(value, dict):
        return any(has_expression(v) for v in value.values())
    if isinstance(value, list):
        return any(has_expression(v) for v in value)
    return False


def get_path(data, path, default=_MISSING):
    """`get_path({"options": {"a": 1}}, "options.a")` → 1."""
    current = data
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        else:
            return default
    return current


@dataclass
class ExpressionData:
    """Everything an expression may read during one node run (passed to the expression engine)."""
    node_name: str
    node_type: str
    node_parameters: dict
    type_version: float
    run_index: int
    items: list
    proxy: object  # app.engine.run_data.DataProxy
    workflow: dict
    execution: dict
    prev_node: dict | None
    timezone: str = "UTC"
    variables: dict = field(default_factory=dict)
    # Fixed "now" in epoch milliseconds, for reproducible runs and tests; None = the real clock.
    now_ms: int | None = None
    # Every node's state for this execution, by node name ($node["Loop"].context reads it).
    node_states: dict = field(default_factory=dict)
    # The workflow's nodes by name ($('X').params reads their parameters).
    nodes: dict = field(default_factory=dict)


class CancelToken:
    """Shared between the runner and whoever may cancel it; waits wake up when it is set."""

    def __init__(self):
        self._event = threading.Event()
        self.reason = None

    def cancel(self, reason="The execution was canceled"):
        self.reason = reason
        self._event.set()

    @property
    def cancelled(self):
        return self._event.is_set()

    def wait(self, seconds):
        """Sleep up to `seconds`; returns True if canceled meanwhile."""
        return self._event.wait(seconds)


class NodeExecutionContext:
    def __init__(self, *, node, node_type, inputs, run_index, expression_data, expression_engine,
                 cancel_token, mode="manual", execution_id=None, workflow=None, settings=None,
                 node_state=None, workflow_loader=None):
        self.node = node
        self.node_type = node_type
        self.type_version = node.type_version
        self.run_index = run_index
        self.mode = mode
        self.execution_id = execution_id
        self.workflow = workflow
        self.settings = settings or {}
        self.console = []
        # State a node keeps across its runs within one execution (Loop Over Items' queue).
        self.node_state = {} if node_state is None else node_state
        self._workflow_loader = workflow_loader
        self._inputs = inputs
        self._expression_data = expression_data
        self._expression_engine = expression_engine
        self._session = None
        self._cache = {}
        self._cancel = cancel_token

    # -- input ---------------------------------------------------------------------------------
    def input_items(self, input_index=0):
        return self._inputs[input_index] if input_index < len(self._inputs) else []

    @property
    def input_count(self):
        return len(self._inputs)

    def input_source(self, input_index=0):
        """Where input `input_index` came from (n8n's getInputSourceData): {"previousNode",
        "previousNodeOutput", "previousNodeRun"}, or None for the start node."""
        source = self._expression_data.proxy.source or []
        return source[input_index] if input_index < len(source) else None

    # -- parameters ----------------------------------------------------------------------------
    def raw_param(self, name, default=_MISSING):
        """The parameter as written (dotted paths reach into collections); missing → `default`,
        or else the default the node's description declares."""
        value = get_path(self.node.parameters, name)
        if value is not _MISSING:
            return value
        if default is not _MISSING:
            return default
        top, _, rest = name.partition(".")
        declared = self.node_type.default_for(top, self.node.parameters, self.type_version)
        return get_path(declared, rest, None) if rest else declared

    def get_params(self, name, default=_MISSING):
        """The parameter's value for every input item (one list entry per item; one entry when
        the node has no input items), with expressions resolved in one batch."""
        if name in self._cache:
            return self._cache[name]
        raw = self.raw_param(name, default)
        count = max(1, len(self._expression_data.items))
        if has_expression(raw):
            values = self.expressions.evaluate(name, raw)
        else:
            values = [raw] * count
        self._cache[name] = values
        return values

    def get_param(self, name, item_index=0, default=_MISSING):
        values = self.get_params(name, default)
        return values[item_index] if item_index < len(values) else values[0]

    @property
    def expressions(self):
        """The expression session of this node run (created on first use)."""
        if self._session is None:
            self._session = self._expression_engine.session(self._expression_data)
        return self._session

    def close(self):
        if self._session is not None:
            self._session.close()
            self._session = None

    def load_workflow(self, workflow_id):
        """JSON of a stored workflow (for Execute Workflow), or None when there is none."""
        return self._workflow_loader(workflow_id) if self._workflow_loader else None

    # -- behaviour -----------------------------------------------------------------------------
    @property
    def continue_on_fail(self):
        return self.node.on_error != "stopWorkflow"

    def error(self, message, item_index=None, description=None):
        """A NodeError naming this node, for the node to raise."""
        return NodeError(message, node=self.node.name, item_index=item_index, description=description)

    def log(self, *parts):
        self.console.append(" ".join(str(p) for p in parts))

    def check_cancelled(self):
        if self._cancel.cancelled:
            raise WorkflowCanceled(self._cancel.reason or "The execution was canceled")

    @property
    def cancel_token(self):
        return self._cancel

    def sleep(self, seconds):
        """Wait, waking up within a second when the execution is canceled."""
        if self._cancel.wait(seconds):
            self.check_cancelled()
