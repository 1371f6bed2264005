"""A parameter value seen as a template: the expression strings inside it (the "slots") and a
builder that makes one resolved copy of the value per item from each slot's list of results.

Parts without expressions are shared between the copies rather than copied. For large item
counts (100,000 items through a Set node's `assignments`) a per-item recursive copy costs several
Python calls per item, so the builder is generated as a single list comprehension instead.
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
            if name is None or match.group(4):  # bare `$json`, or a method called on it
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
        constants = []
        expression = self._source(self.raw, constants)
        names = [f"v{k}" for k in range(len(self.slots))]
        if len(names) == 1:
            loop = "for v0 in S[0]"
        else:
            loop = f"for ({', '.join(names)},) in zip(*S)"
        code = compile(f"[{expression} {loop}]", "<parameter template>", "eval")
        return eval(code, {"__builtins__": {}, "zip": zip, "S": slot_values, "C": constants})

    def _source(self, value, constants):
        """Python source of an expression building `value` for one item; None when it is static."""
        if isinstance(value, str):
            slot = self._slot_of.get(value)
            return None if slot is None else f"v{slot}"
        if isinstance(value, dict):
            return self._dict_source(value, constants)
        if isinstance(value, list):
            return self._list_source(value, constants)
        return None

    def _dict_source(self, value, constants):
        dynamic = []
        for key, child in value.items():
            source = self._source(child, constants)
            if source is not None:
                constants.append(key)
                dynamic.append(f"C[{len(constants) - 1}]: {source}")
        if not dynamic:
            return None
        constants.append(value)
        # Re-assigning an existing key keeps its position, so key order is preserved.
        return f"{{**C[{len(constants) - 1}], {', '.join(dynamic)}}}"

    def _list_source(self, value, constants):
        sources = [self._source(child, constants) for child in value]
        if all(source is None for source in sources):
            return None
        constants.append(value)
        base = len(constants) - 1
        parts = [source if source is not None else f"C[{base}][{i}]" for i, source in enumerate(sources)]
        return f"[{', '.join(parts)}]"
