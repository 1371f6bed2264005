"""The node contract: a declarative description plus `execute(ctx)`.

A node module under `app/nodes/` defines one subclass of `NodeType` and registers it:

    @register
    class NoOp(NodeType):
        type = "noOp"
        versions = (1,)
        display_name = "No Operation, do nothing"
        ...
        def execute(self, ctx):
            return [ctx.input_items()]

`execute` returns one list of items per output. The editor renders forms from `properties`, so a
node's form is never written anywhere else. `display_options` follows n8n's
`displayOptions`: {"show": {"param": [values]}, "hide": {...}}, with "@version" for the node's
typeVersion.
"""
from dataclasses import dataclass, field

PROPERTY_TYPES = (
    "string", "number", "boolean", "options", "multiOptions", "collection", "fixedCollection",
    "json", "code", "dateTime", "color", "filter", "assignmentCollection", "notice", "hidden",
    "resourceLocator", "resourceMapper", "workflowSelector", "credentials",
)
GROUPS = ("trigger", "flow", "transform", "core", "integration")


@dataclass
class Option:
    """One choice of an `options`/`multiOptions` property."""
    name: str
    value: object
    description: str = ""


@dataclass
class Property:
    name: str
    display_name: str
    type: str
    default: object = None
    description: str = ""
    placeholder: str = ""
    # Option list for options/multiOptions; child Properties for collection; for
    # fixedCollection a list of Property groups (each a `collection` Property of its values).
    options: list = field(default_factory=list)
    display_options: dict | None = None
    type_options: dict = field(default_factory=dict)
    required: bool = False
    no_data_expression: bool = False

    def __post_init__(self):
        if self.type not in PROPERTY_TYPES:
            raise ValueError(f"property {self.name!r}: unknown type {self.type!r}")


def version_matches(wanted, version):
    """n8n's display condition on @version: a list of versions, or {"_cnd": {"gte": 2}}-style."""
    for entry in wanted:
        if isinstance(entry, dict) and "_cnd" in entry:
            (op, bound), = entry["_cnd"].items()
            if not _CONDITIONS[op](version, bound):
                return False
            continue
        if entry == version:
            return True
    return any(isinstance(e, dict) for e in wanted)


_CONDITIONS = {
    "gte": lambda v, b: v >= b, "lte": lambda v, b: v <= b, "gt": lambda v, b: v > b,
    "lt": lambda v, b: v < b, "eq": lambda v, b: v == b, "not": lambda v, b: v != b,
}


def is_visible(prop, parameters, version, root=None):
    """n8n's displayParameter: whether `prop` applies given the node's other parameters.

    Inside a collection, `parameters` are the collection's values; a name with a leading "/"
    refers to the node's top-level parameters (`root`), as in n8n.
    """
    rules = prop.display_options or {}
    root = parameters if root is None else root

    def value_of(name):
        return root.get(name[1:]) if name.startswith("/") else parameters.get(name)

    for name, wanted in (rules.get("show") or {}).items():
        if name == "@version":
            if not version_matches(wanted, version):
                return False
        elif value_of(name) not in wanted:
            return False
    for name, unwanted in (rules.get("hide") or {}).items():
        if name == "@version":
            if version_matches(unwanted, version):
                return False
        elif value_of(name) in unwanted:
            return False
    return True


class NodeType:
    """Base class of every node type. Subclasses set the description and implement `execute`."""

    type = ""
    versions = (1,)
    display_name = ""
    description = ""
    group = "core"
    icon = "box"
    inputs = ("main",)
    outputs = ("main",)
    # Names shown on the outputs (e.g. ("true", "false") for If); defaults to the output types.
    output_names = None
    properties = ()
    credentials = ()
    is_trigger = False
    # Nodes that only decorate the canvas (sticky notes) are never executed.
    executable = True
    # Whether the node may return input item objects as they are: the runner then first stamps
    # every input item with its position (pairedItem), as n8n does. Nodes that always build new
    # items with their own pairedItem say False and save a copy of every input item.
    reuses_input_items = True
    # n8n's requiredInputs (v1 order): before a waiting multi-input node runs with partial input,
    # how many inputs (an int) or which inputs (a list of indexes) must have data; None: any.
    required_inputs = None

    @property
    def default_version(self):
        return max(self.versions)

    def output_count(self, node):
        """How many main outputs this node has with its current parameters (If: 2, Switch: n)."""
        return len(self.outputs)

    def input_count(self, node):
        return len(self.inputs)

    def required_inputs_for(self, node):
        """`required_inputs` for this node's parameters (Merge: Choose Branch needs both inputs)."""
        return self.required_inputs

    def execute(self, ctx):
        raise NotImplementedError

    def property(self, name):
        for prop in self.properties:
            if prop.name == name:
                return prop
        return None

    def default_for(self, name, parameters, version):
        """The default of `name`: n8n may declare one name several times for different versions
        or modes, so the first declaration visible with these parameters wins."""
        declared = [prop for prop in self.properties if prop.name == name]
        for prop in declared:
            if is_visible(prop, parameters, version):
                return prop.default
        return declared[0].default if declared else None
