"""A parameter value seen as a template: the expression strings inside it (the "slots") and a
builder that makes one resolved copy of the value per item from each slot's list of results.

Parts without expressions are shared between the copies rather than copied. For large item
counts (100,000 items through a Set node's `assignments`) a per-item recursive copy costs several
Python calls per item, so the builder is generated as one loop over the items instead: each
container on the way to an expression is a `dict.copy()` (the fastest copy of a small dict)
with its resolved entries assigned.
"""
import re

# What an expression uses decides what the session loads into V8 before evaluating it.
NODE_REFERENCE = re.compile(
    r"""\$\(\s*(['"`])((?:\\.|(?!\1).)*)\1\s*\)"""
    r"""|\$node\s*\[\s*(['"`])((?:\\.|(?!\3).)*)\3\s*\]"""
    r"""|\$node\.([A-Za-z_$][\w$]*)"""
    r"""|\$items\(\s*(['"`])((?:\\.|(?!\6).)*)\6"""
)
PAIRED_ACCESS = re.compile(r"\.\s*(?:item|itemMatching|pairedItem)\b")
ITEM_ACCESS = re.compile(r"\$(?:json|binary|input|data|item|thisItem)\b")
WHOLE_ITEM_ACCESS = re.compile(r"\$(?:binary|input|data|item|thisItem)\b")
# A projected `$json` lacks the methods objects inherit, so these names need the whole item.
INHERITED_NAMES = frozenset({
    "constructor", "toString", "toLocaleString", "valueOf", "hasOwnProperty", "isPrototypeOf",
    "propertyIsEnumerable", "__proto__", "__defineGetter__", "__defineSetter__", "__lookupGetter__",
    "__lookupSetter__",
})
JSON_FIELD_ACCESS = re.compile(
    r"""\$json\b(?:\s*\??\.\s*([A-Za-z_$][\w$]*)|\s*\[\s*(['"`])((?:\\.|(?!\2).)*)\2\s*\])?(\s*\()?""")


def is_expression(value):
    return isinstance(value, str) and value.startswith("=")


def json_fields(sources):
    """The top-level `$json` fields these sources read, when that is all they read of the items
    (`$json.a`, `$json["b"]`); None when they use whole items or `$json` itself."""
    fields = set()
    for source in sources:
        if WHOLE_ITEM_ACCESS.search(source):
            return None
        for match in JSON_FIELD_ACCESS.finditer(source):
            name = match.group(1) or match.group(3)
            if name is None or match.group(4) or name in INHERITED_NAMES:  # bare `$json`, or a method
                return None
            fields.add(re.sub(r"\\(.)", r"\1", name))
    return fields


def referenced_nodes(sources):
    """Node names written literally in `$('X')`, `$node["X"]`, `$node.X` or `$items("X")`."""
    names = set()
    for source in sources:
        for match in NODE_REFERENCE.finditer(source):
            name = match.group(2) or match.group(4) or match.group(5) or match.group(7)
            if name is not None:
                names.add(re.sub(r"\\(.)", r"\1", name))
    return names


class ParameterTemplate:
    def __init__(self, raw_value):
        self.raw = raw_value
        self.slots = []
        self._slot_of = {}
        self._collect(raw_value)

    def _collect(self, value):
        if is_expression(value):
            if value not in self._slot_of:
                self._slot_of[value] = len(self.slots)
                self.slots.append(value)
        elif isinstance(value, dict):
            for child in value.values():
                self._collect(child)
        elif isinstance(value, list):
            for child in value:
                self._collect(child)

    def build(self, slot_values):
        """One resolved copy of the raw value per item; slot_values[k][i] is slot k for item i."""
        if isinstance(self.raw, str):
            return list(slot_values[0])
        builder = self._builder()
        root = builder.emit(self.raw)
        names = ", ".join(f"v{k}" for k in range(len(self.slots)))
        loop = "for v0 in S[0]:" if len(self.slots) == 1 else f"for {names} in zip(*S):"
        body = "\n        ".join([*builder.lines, f"append({root})"])
        source = (f"def build(S, C):\n    {builder.bindings()}\n    out = []\n    append = out.append\n"
                  f"    {loop}\n        {body}\n    return out\n")
        namespace = {"__builtins__": {}, "zip": zip}
        exec(compile(source, "<parameter template>", "exec"), namespace)
        return namespace["build"](slot_values, builder.constants)

    def copier(self, slot_values):
        """A function of an item index that builds that item's copy when asked: for very large
        item counts, holding a copy per item at once would cost gigabytes."""
        if isinstance(self.raw, str):
            return slot_values[0].__getitem__
        builder = self._builder()
        root = builder.emit(self.raw)
        names = "".join(f"v{k}, " for k in range(len(self.slots)))
        body = "\n    ".join(builder.lines)
        source = (f"def one(V, C):\n    {builder.bindings()}\n    {names}= V\n    {body}\n    return {root}\n")
        namespace = {"__builtins__": {}}
        exec(compile(source, "<parameter template>", "exec"), namespace)
        one, constants = namespace["one"], builder.constants
        return lambda index: one([column[index] for column in slot_values], constants)

    def _builder(self):
        return _Builder(self._slot_of)


class _Builder:
    """Generates the statements that build one item's copy: returns, for a value, the name of the
    local holding its copy (`t3`), of its slot value (`v0`), or None when it is static."""

    def __init__(self, slot_of):
        self._slot_of = slot_of
        self.constants = []
        self.lines = []

    def constant(self, value):
        self.constants.append(value)
        return f"c{len(self.constants) - 1}"

    def bindings(self):
        """Constants as locals, so the loop reads them without lookups."""
        return "; ".join(f"c{i} = C[{i}]" for i in range(len(self.constants))) or "pass"

    def emit(self, value):
        if isinstance(value, str):
            slot = self._slot_of.get(value)
            return None if slot is None else f"v{slot}"
        if isinstance(value, dict):
            return self._emit_dict(value)
        if isinstance(value, list):
            return self._emit_list(value)
        return None

    def _emit_dict(self, value):
        dynamic = [(key, name) for key, name in ((key, self.emit(child)) for key, child in value.items()) if name]
        if not dynamic:
            return None
        target = f"t{len(self.lines)}"
        # Assigning an existing key keeps its position, so the copy keeps the key order.
        self.lines.append(f"{target} = {self.constant(value)}.copy()")
        for key, name in dynamic:
            self.lines.append(f"{target}[{self.constant(key)}] = {name}")
        return target

    def _emit_list(self, value):
        names = [self.emit(child) for child in value]
        if not any(names):
            return None
        parts = [name or self.constant(child) for name, child in zip(names, value)]
        target = f"t{len(self.lines)}"
        self.lines.append(f"{target} = [{', '.join(parts)}]")
        return target
