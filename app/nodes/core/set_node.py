"""Set (Edit Fields): adds or changes fields on each item.

Versions 1 and 2 take typed `values` lists (boolean, number, string). Versions 3–3.4 have a
manual mode (`fields.values` up to 3.2, `assignments` from 3.3) and a raw JSON mode, and choose
which input fields to keep. Field names are lodash paths (`a.b[0].c`) unless dot notation is off.

Output items share unchanged data with their input items: the json object is copied shallowly and
only the containers along a written path are copied, so input items are never modified.
"""
import re
from datetime import datetime
from functools import lru_cache

from app.engine.context import has_expression
from app.engine.errors import ExpressionError
from app.engine.items import paired_item
from app.engine.node import NodeType, Option, Property
from app.engine.registry import register
from app.engine.type_validation import (
    MAX_SAFE_INTEGER, is_number, js_number, js_string, js_to_number, json_parse, json_stringify,
    validate_field_type, value_description,
)

V1_2 = {"@version": [1, 2]}
V3_FIELDS = [3, 3.1, 3.2]
V3 = {"@version": [{"_cnd": {"gte": 3}}]}
INCLUDE_ALL, INCLUDE_NONE, INCLUDE_SELECTED, INCLUDE_EXCEPT = "all", "none", "selected", "except"
DOT_NOTATION_DESCRIPTION = (
    'By default, dot-notation is used in property names. This means that "a.b" will set the property "b" '
    'underneath "a" so { "a": { "b": value} }. If that is not intended this can be deactivated, it will then '
    'set { "a.b": value } instead.')
NAME_DESCRIPTION = 'Name of the property to write data to. Supports dot-notation. Example: "data.person[0].name"'


# -- description -----------------------------------------------------------------------------------
def _v1_group(name, display_name, kind, default, description):
    return Property(name=name, display_name=display_name, type="collection", options=[
        Property(name="name", display_name="Name", type="string", default="propertyName",
                 description=NAME_DESCRIPTION),
        Property(name="value", display_name="Value", type=kind, default=default, description=description),
    ])


def _typed_value(name, kind, default, field_type, **extra):
    return Property(name=name, display_name="Value", type=kind, default=default,
                    display_options={"show": {"type": [field_type]}}, **extra)


def _include_options(*choices):
    labels = {
        INCLUDE_ALL: ("All Input Fields", "Also include all unchanged fields from the input"),
        INCLUDE_NONE: ("No Input Fields", "Include only the fields specified above"),
        INCLUDE_SELECTED: ("Selected Input Fields",
                           "Also include the fields listed in the parameter “Fields to Include”"),
        INCLUDE_EXCEPT: ("All Input Fields Except", "Exclude the fields listed in the parameter “Fields to Exclude”"),
    }
    return [Option(labels[value][0], value, labels[value][1]) for value in choices]


def _field_list(name, display_name, verb, show):
    return Property(name=name, display_name=display_name, type="string", default="",
                    placeholder=f"e.g. fieldTo{verb}1,fieldTo{verb}2",
                    description=f"Comma-separated list of the field names you want to {verb.lower()} in the "
                                "output. You can drag the selected fields from the input panel.",
                    display_options=show)


PROPERTIES = (
    # Versions 1 and 2
    Property(name="keepOnlySet", display_name="Keep Only Set", type="boolean", default=False,
             description="Whether only the values set on this node should be kept and all others removed",
             display_options={"show": V1_2}),
    Property(name="values", display_name="Values to Set", type="fixedCollection", default={},
             placeholder="Add Value", description="The value to set",
             type_options={"multipleValues": True, "sortable": True}, display_options={"show": V1_2},
             options=[_v1_group("boolean", "Boolean", "boolean", False, "The boolean value to write in the property"),
                      _v1_group("number", "Number", "number", 0, "The number value to write in the property"),
                      _v1_group("string", "String", "string", "", "The string value to write in the property")]),
    Property(name="options", display_name="Options", type="collection", default={}, placeholder="Add option",
             display_options={"show": V1_2}, options=[
                 Property(name="dotNotation", display_name="Dot Notation", type="boolean", default=True,
                          description=DOT_NOTATION_DESCRIPTION)]),
    # Versions 3 to 3.4
    Property(name="mode", display_name="Mode", type="options", default="manual", no_data_expression=True,
             display_options={"show": V3},
             options=[Option("Manual Mapping", "manual", "Edit item fields one by one"),
                      Option("JSON", "raw", "Customize item output with JSON")]),
    Property(name="duplicateItem", display_name="Duplicate Item", type="boolean", default=False,
             display_options={"show": V3}),
    Property(name="duplicateCount", display_name="Duplicate Item Count", type="number", default=0,
             type_options={"minValue": 0},
             description="How many times the item should be duplicated, mainly used for testing and debugging",
             display_options={"show": {**V3, "duplicateItem": [True]}}),
    Property(name="duplicateWarning", type="notice", default="",
             display_name="Item duplication is set in the node settings. This option will be ignored when the "
                          "workflow runs automatically.",
             display_options={"show": {**V3, "duplicateItem": [True]}}),
    Property(name="jsonOutput", display_name="JSON", type="json",
             default='{\n  "my_field_1": "value",\n  "my_field_2": 1\n}\n', type_options={"rows": 5},
             display_options={"show": {**V3, "mode": ["raw"]}}),
    Property(name="fields", display_name="Fields to Set", type="fixedCollection", default={}, placeholder="Add Field",
             description="Edit existing fields or add new ones to modify the output data",
             type_options={"multipleValues": True, "sortable": True},
             display_options={"show": {"@version": V3_FIELDS, "mode": ["manual"]}},
             options=[Property(name="values", display_name="Values", type="collection", options=[
                 Property(name="name", display_name="Name", type="string", default="", placeholder="e.g. fieldName",
                          description="Name of the field to set the value of. Supports dot-notation. "
                                      "Example: data.person[0].name."),
                 Property(name="type", display_name="Type", type="options", default="stringValue",
                          description="The field value type",
                          options=[Option("String", "stringValue"), Option("Number", "numberValue"),
                                   Option("Boolean", "booleanValue"), Option("Array", "arrayValue"),
                                   Option("Object", "objectValue")]),
                 _typed_value("stringValue", "string", "", "stringValue"),
                 _typed_value("numberValue", "string", "", "numberValue"),
                 _typed_value("booleanValue", "options", "true", "booleanValue",
                              options=[Option("True", "true"), Option("False", "false")]),
                 _typed_value("arrayValue", "string", "", "arrayValue",
                              placeholder="e.g. [ arrayItem1, arrayItem2, arrayItem3 ]"),
                 _typed_value("objectValue", "json", "={}", "objectValue", type_options={"rows": 2}),
             ])]),
    Property(name="assignments", display_name="Fields to Set", type="assignmentCollection", default={},
             display_options={"show": {**V3, "mode": ["manual"]}, "hide": {"@version": V3_FIELDS}}),
    Property(name="include", display_name="Include in Output", type="options", default=INCLUDE_ALL,
             description="How to select the fields you want to include in your output items",
             display_options={"show": {"@version": V3_FIELDS}},
             options=_include_options(INCLUDE_ALL, INCLUDE_NONE, INCLUDE_SELECTED, INCLUDE_EXCEPT)),
    Property(name="includeOtherFields", display_name="Include Other Input Fields", type="boolean", default=False,
             description="Whether to pass to the output all the input fields (along with the fields set in "
                         "'Fields to Set')",
             display_options={"show": V3, "hide": {"@version": V3_FIELDS}}),
    Property(name="include", display_name="Input Fields to Include", type="options", default=INCLUDE_ALL,
             description="How to select the fields you want to include in your output items",
             display_options={"show": V3, "hide": {"@version": V3_FIELDS, "includeOtherFields": [False]}},
             options=[Option("All", INCLUDE_ALL, "Also include all unchanged fields from the input"),
                      Option("Selected", INCLUDE_SELECTED,
                             "Also include the fields listed in the parameter “Fields to Include”"),
                      Option("All Except", INCLUDE_EXCEPT,
                             "Exclude the fields listed in the parameter “Fields to Exclude”")]),
    _field_list("includeFields", "Fields to Include", "Include",
                {"show": {"include": [INCLUDE_SELECTED], "@version": V3_FIELDS}}),
    _field_list("excludeFields", "Fields to Exclude", "Exclude",
                {"show": {"include": [INCLUDE_EXCEPT], "@version": V3_FIELDS}}),
    _field_list("includeFields", "Fields to Include", "Include",
                {"show": {**V3, "include": [INCLUDE_SELECTED], "includeOtherFields": [True]},
                 "hide": {"@version": V3_FIELDS}}),
    _field_list("excludeFields", "Fields to Exclude", "Exclude",
                {"show": {**V3, "include": [INCLUDE_EXCEPT], "includeOtherFields": [True]},
                 "hide": {"@version": V3_FIELDS}}),
    Property(name="options", display_name="Options", type="collection", default={}, placeholder="Add option",
             display_options={"show": V3}, options=[
                 Property(name="includeBinary", display_name="Include Binary File", type="boolean", default=True,
                          description="Whether binary data should be included if present in the input item",
                          display_options={"hide": {"@version": [{"_cnd": {"gte": 3.4}}]}}),
                 Property(name="stripBinary", display_name="Strip Binary Data", type="boolean", default=True,
                          description='Whether binary data should be stripped from the input item. Only applies '
                                      'when "Include Other Input Fields" is enabled.',
                          display_options={"show": {"@version": [{"_cnd": {"gte": 3.4}}],
                                                    "/includeOtherFields": [True]}}),
                 Property(name="ignoreConversionErrors", display_name="Ignore Type Conversion Errors",
                          type="boolean", default=False,
                          description="Whether to ignore field type errors and apply a less strict type conversion",
                          display_options={"show": {"/mode": ["manual"]}}),
                 Property(name="dotNotation", display_name="Support Dot Notation", type="boolean", default=True,
                          description=DOT_NOTATION_DESCRIPTION),
             ]),
)


# -- lodash paths, copy-on-write -------------------------------------------------------------------
_PROP_NAME = re.compile(
    r"""[^.[\]]+|\[(?:(-?\d+(?:\.\d+)?)|(["'])((?:(?!\2)[^\\]|\\.)*?)\2)\]|(?=(?:\.|\[\])(?:\.|\[\]|$))""")
_ESCAPE_CHAR = re.compile(r"\\(\\)?")
_DEEP_PROP = re.compile(r"""\.|\[(?:[^[\]]*|(["'])(?:(?!\1)[^\\]|\\.)*?\1)\]""")
_PLAIN_PROP = re.compile(r"\w*\Z")
_INDEX = re.compile(r"(?:0|[1-9]\d*)\Z")
_UNSAFE_KEYS = ("__proto__", "constructor", "prototype")


@lru_cache(maxsize=4096)
def string_to_path(text):
    """lodash's stringToPath: "a.b[0]['c.d']" → ("a", "b", "0", "c.d")."""
    path = [""] if text.startswith(".") else []
    for match in _PROP_NAME.finditer(text):
        number, quote, quoted = match.groups()
        path.append(_ESCAPE_CHAR.sub(r"\1", quoted) if quote else (number or match.group()))
    return tuple(path)


def path_of(key, root):
    """lodash's castPath: a key that is plainly one property, or already one in `root`, is not split."""
    if _PLAIN_PROP.match(key) or not _DEEP_PROP.search(key) or key in root:
        return (key,)
    return string_to_path(key)


def _is_index(key):
    return bool(_INDEX.match(key)) and int(key) <= MAX_SAFE_INTEGER


def _child(container, key):
    if isinstance(container, dict):
        return container.get(key)
    if isinstance(container, list) and _is_index(key) and int(key) < len(container):
        return container[int(key)]
    return None


def _assign(container, key, value):
    if isinstance(container, dict):
        container[key] = value
    elif isinstance(container, list) and _is_index(key):
        index = int(key)
        if index >= len(container):
            container.extend([None] * (index + 1 - len(container)))  # JSON shows array holes as null
        container[index] = value
    # a named property on an array does not survive JSON: nothing to do


class Output:
    """The json object of one output item, built copy-on-write from shared input data."""

    def __init__(self, data):
        self.data = data
        self._owned = {id(data)}

    def _own(self, container, key, value):
        """The child at `key`, copied into `container` first unless this item already owns it."""
        if id(value) not in self._owned:
            value = dict(value) if isinstance(value, dict) else list(value)
            self._owned.add(id(value))
            _assign(container, key, value)
        return value

    def set(self, path, value):
        """lodash's set(data, path, value) on a path tuple."""
        node = self.data
        last = len(path) - 1
        for depth, key in enumerate(path):
            if key in _UNSAFE_KEYS:
                return
            if depth == last:
                _assign(node, key, value)
                return
            child = _child(node, key)
            if isinstance(child, (dict, list)):
                node = self._own(node, key, child)
            else:
                fresh = [] if _is_index(path[depth + 1]) else {}
                self._owned.add(id(fresh))
                _assign(node, key, fresh)
                node = fresh

    def unset(self, path):
        """lodash's unset(data, path): deletes the last key when the path exists."""
        node = self.data
        for key in path[:-1]:
            child = _child(node, key)
            if not isinstance(child, (dict, list)):
                return
            node = self._own(node, key, child)
        key = path[-1]
        if isinstance(node, dict):
            node.pop(key, None)
        elif _child(node, key) is not None:
            node[int(key)] = None


_MISSING = object()


def get_path(data, path):
    """lodash's get(data, path) on a path tuple (_MISSING when absent)."""
    node = data
    for key in path:
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and _is_index(key) and int(key) < len(node):
            node = node[int(key)]
        else:
            return _MISSING
    return node


def _bracket_free(data, key):
    """n8n's sanitizeDataPathKey for dot notation off: `["a.b"]` names the key `a.b` when it exists."""
    if key not in data and len(key) > 3 and key[:2] in ('["', "['") and key[-2:] in ('"]', "']"):
        if key[2:-2] in data:
            return key[2:-2]
    return key


class FieldWriter:
    """Writes named fields into an Output: lodash paths, or plain keys without dot notation
    (version 3 also reads `["a.b"]` as the key `a.b` there; versions 1 and 2 do not)."""

    def __init__(self, dot_notation, unbracket=True):
        self.dot_notation = dot_notation
        self.unbracket = unbracket

    def is_plain(self, name):
        """Whether setting `name` is always a plain `data[name] = value`."""
        if self.dot_notation:
            return "." not in name and "[" not in name
        return not (self.unbracket and name[:2] in ('["', "['"))

    def set(self, output, name, value):
        if not self.dot_notation:
            output.data[_bracket_free(output.data, name) if self.unbracket else name] = value
        elif "." not in name and "[" not in name:
            output.data[name] = value
        else:
            output.set(path_of(name, output.data), value)

    def get(self, data, name):
        if not self.dot_notation:
            return data.get(_bracket_free(data, name), _MISSING)
        return get_path(data, path_of(name, data))

    def unset(self, output, name):
        if not self.dot_notation:
            output.data.pop(_bracket_free(output.data, name), None)
        else:
            output.unset(path_of(name, output.data))


# -- values ----------------------------------------------------------------------------------------
class ItemError(Exception):
    """A field of one item could not be set; becomes a NodeError (or an error item)."""

    def __init__(self, message, description=None):
        super().__init__(message)
        self.message = message
        self.description = description


def _conversion_hint(name):
    return (f'To fix the error try to change the type for the field "{name}" or activate the option '
            "“Ignore Type Conversion Errors” to apply a less strict type validation")


def validate_entry(name, kind, value, item_index, ignore_errors, version):
    """n8n's validateEntry: the value converted to the field's type (None for null)."""
    if value is None and version >= 3.2:
        return None
    if kind == "string":
        if type(value) is str:
            return value
        if value is None and version > 3:
            if ignore_errors:
                return None
            raise ItemError(f"'{name}' expects a {kind} but we got {value_description(value)} [item {item_index}]",
                            _conversion_hint(name))
        value = json_stringify(value) if value is None or isinstance(value, (dict, list)) else js_string(value)
    elif (kind == "number" and is_number(value) and value == value) or (kind == "boolean" and type(value) is bool):
        return value
    result = validate_field_type(name, value, kind)
    if not result.valid:
        if ignore_errors:
            return value
        raise ItemError(f"{result.error} [item {item_index}]", _conversion_hint(name))
    if isinstance(result.value, datetime):
        return result.value.isoformat(timespec="milliseconds")
    return result.value


_RECOVERY_STEPS = (
    (re.compile("'"), '"'),
    (re.compile(r"""(['"])?([a-zA-Z0-9_]+)(['"])?:"""), r'"\2":'),
    (re.compile(r",\s*([\]}])"), r"\1"),
    (re.compile(r",+\Z"), ""),
)


def parse_json_parameter(data, item_index, entry_name=None):
    """n8n's parseJsonParameter: JSON text (repaired if it can be) or an object → an object."""
    location = f"entry \"{entry_name}\" inside 'Fields to Set'" if entry_name else "'JSON Output'"
    result = data
    if isinstance(data, str):
        try:
            result = json_parse(data)
        except ValueError:
            recovered = data
            for pattern, replacement in _RECOVERY_STEPS:
                recovered = pattern.sub(replacement, recovered)
            try:
                result = json_parse(recovered)
            except ValueError:
                description = data if recovered == data else f"{recovered};\n Original input: {data}"
                raise ItemError(f"The {location} in item {item_index} contains invalid JSON", description) from None
    if not isinstance(result, dict):
        raise ItemError(f"The {location} in item {item_index} does not contain a valid JSON object")
    return result


_RESOLVABLE = re.compile(r"({{[\s\S]*?}})")


def _replace_first(text, search, replacement):
    """`text.replace(search, replacement)` with a string pattern, `$` patterns included."""
    at = text.find(search)
    if at < 0:
        return text
    expanded = re.sub(r"\$([$&`'])", lambda m: {"$": "$", "&": search, "`": text[:at],
                                                  "'": text[at + len(search):]}[m.group(1)], replacement)
    return text[:at] + expanded + text[at + len(search):]


class RawTemplate:
    """n8n's resolveRawData: JSON text whose `{{ … }}` parts are replaced by their values (objects
    as JSON), evaluated for every item in one call per part."""

    def __init__(self, ctx, text, parameter):
        self.text = text
        self.parts = list(dict.fromkeys(_RESOLVABLE.findall(text)))
        self.values = {part: ctx.expressions.evaluate(parameter, "=" + part) for part in self.parts}

    def render(self, item_index):
        text = self.text
        for part in _RESOLVABLE.findall(self.text):
            values = self.values[part]
            value = values[item_index] if item_index < len(values) else None
            shown = json_stringify(value) if isinstance(value, (dict, list)) else js_string(value)
            text = _replace_first(text, part, shown)
        return text


# -- per-item settings -----------------------------------------------------------------------------
class ParamReader:
    """A parameter for item i: read once when it holds no expression, per item otherwise."""

    def __init__(self, ctx, name):
        raw = ctx.raw_param(name)
        self.static = not has_expression(raw)
        self.raw = raw
        self.values = None if self.static else ctx.get_params(name)

    def __call__(self, index):
        if self.static:
            return self.raw
        return self.values[index] if index < len(self.values) else self.values[0]


def _split_fields(text):
    return tuple(part.strip() for part in js_string(text or "").split(",") if part.strip())


class Plan:
    """How one item's output is composed (n8n's SetNodeOptions plus the include mode)."""

    def __init__(self, options, include, include_fields, exclude_fields, version):
        options = options if isinstance(options, dict) else {}
        self.include = include
        self.writer = FieldWriter(options.get("dotNotation") is not False)
        self.ignore_errors = bool(options.get("ignoreConversionErrors"))
        if version >= 3.4:
            self.include_binary = not options.get("stripBinary") and include != INCLUDE_NONE
        else:
            self.include_binary = bool(options.get("includeBinary"))
        self.include_fields = _split_fields(include_fields) if include == INCLUDE_SELECTED else ()
        self.exclude_fields = _split_fields(exclude_fields) if include == INCLUDE_EXCEPT else ()

    def _kept_fields(self, source):
        """The input fields this plan keeps, as the start of the output's json."""
        if self.include == INCLUDE_ALL:
            return Output(dict(source))
        if self.include == INCLUDE_NONE:
            return Output({})
        if self.include == INCLUDE_SELECTED:
            data = Output({})
            for key in self.include_fields:
                value = self.writer.get(source, key)
                target = key.split(".")[-1] if self.writer.dot_notation and "." in key else key
                if value is not _MISSING:
                    self.writer.set(data, target, value)
            return data
        if self.include == INCLUDE_EXCEPT:
            data = Output(dict(source))
            for key in self.exclude_fields:
                self.writer.unset(data, key)
            return data
        raise ItemError(f'The include option "{self.include}" is not known!')

    def compose(self, item, item_index, fields):
        """n8n's composeReturnItem: kept input fields, then `fields` written in order."""
        data = self._kept_fields(item.get("json") or {})
        for name, value in fields.items():
            self.writer.set(data, name, value)
        out = {"json": data.data, "pairedItem": paired_item(item_index)}
        if self.include_binary and item.get("binary") is not None:
            out["binary"] = dict(item["binary"])
        return out


class PlanReader:
    """The Plan for item i, built once when none of its parameters holds an expression."""

    def __init__(self, ctx):
        self.version = ctx.type_version
        self.readers = {name: ParamReader(ctx, name)
                        for name in ("options", "include", "includeOtherFields", "includeFields", "excludeFields")}
        self.static_plan = self._build(0) if all(r.static for r in self.readers.values()) else None

    def _build(self, index):
        read = self.readers
        include = read["include"](index) or INCLUDE_ALL
        if self.version >= 3.3 and not read["includeOtherFields"](index):
            include = INCLUDE_NONE
        return Plan(read["options"](index), include, read["includeFields"](index), read["excludeFields"](index),
                    self.version)

    def __call__(self, index):
        return self.static_plan or self._build(index)


# -- manual mode fields ----------------------------------------------------------------------------
# Defaults of the typed values of `fields.values` (versions 3 to 3.2).
_FIELD_DEFAULTS = {"stringValue": "", "numberValue": "", "booleanValue": "true", "arrayValue": "",
                   "objectValue": "={}"}
# Value types that need no conversion for a field type (NaN aside, see FieldSpec.nan_check).
_ALREADY_CONVERTED = {"string": (str,), "number": (int, float), "boolean": (bool,)}


def _field_shape(entry, version):
    """(name, field type, key of the value, default value) of one written field."""
    if version >= 3.3:
        return entry.get("name"), entry.get("type") or "string", "value", None
    typed = entry.get("type") or "stringValue"
    return entry.get("name", ""), typed.replace("Value", ""), typed, _FIELD_DEFAULTS.get(typed)


class FieldSpec:
    """One field as written in the node: where its value sits and what type it becomes."""

    def __init__(self, position, entry, version):
        self.position = position
        self.name, self.kind, self.key, self.default = _field_shape(entry, version)
        self.fixed = isinstance(self.name, str) and not has_expression(self.name) and not has_expression(
            entry.get("type"))


class ManualFields:
    """The fields of manual mode for each item: `assignments` (3.3+) or `fields.values` (3–3.2)."""

    def __init__(self, ctx):
        self.version = ctx.type_version
        parameter, self.list_key = ("assignments", "assignments") if self.version >= 3.3 else ("fields", "values")
        self.reader = ParamReader(ctx, parameter)
        raw_entries = (self.reader.raw or {}).get(self.list_key) or []
        self.specs = [FieldSpec(position, entry, self.version) for position, entry in enumerate(raw_entries)]
        names = [spec.name for spec in self.specs]
        self.fixed = all(spec.fixed for spec in self.specs) and len(set(names)) == len(names)
        self.templates = {} if self.version >= 3.3 else self._object_templates(ctx, raw_entries)

    @staticmethod
    def _object_templates(ctx, raw_entries):
        """objectValue entries written as expressions are JSON text templates (n8n's rawData)."""
        templates = {}
        for entry in raw_entries:
            text = entry.get("objectValue", _FIELD_DEFAULTS["objectValue"])
            if entry.get("type") == "objectValue" and isinstance(text, str) and text.startswith("="):
                templates[entry.get("name")] = RawTemplate(ctx, text.lstrip("="), "fields")
        return templates

    def entries(self, index):
        return (self.reader(index) or {}).get(self.list_key) or []

    def convert(self, kind, name, value, index, ignore_errors):
        if kind == "object" and name in self.templates and value is not None:
            value = parse_json_parameter(self.templates[name].render(index), index, name)
        return validate_entry(name, kind, value, index, ignore_errors, self.version)

    def collect(self, index, ignore_errors):
        """All fields of the item, by name (a later field of the same name replaces an earlier one)."""
        fields = {}
        for entry in self.entries(index):
            name, kind, key, default = _field_shape(entry, self.version)
            name = js_string(name)
            fields[name] = self.convert(kind, name, entry.get(key, default), index, ignore_errors)
        return fields


# -- the node --------------------------------------------------------------------------------------
def _truthy(value):
    return value not in (None, False, 0, "") and value == value  # NaN != NaN


def _v1_number(value, version):
    if version >= 2 and type(value) is str:
        number = js_to_number(value)
        if number == number:  # not NaN
            return js_number(number)
    return value


V1_SETTERS = (
    ("boolean", False, lambda value, version: _truthy(value)),
    ("number", 0, _v1_number),
    ("string", "", lambda value, version: value),
)


def _v1_specs(raw_values):
    """(group, position, name, default, conversion) of every value, in the order n8n sets them."""
    groups = raw_values if isinstance(raw_values, dict) else {}
    return [(group, position, entry.get("name", "propertyName"), default, convert)
            for group, default, convert in V1_SETTERS for position, entry in enumerate(groups.get(group) or [])]


def _v1_writer(options):
    return FieldWriter((options or {}).get("dotNotation") is not False, unbracket=False)


@register
class Set(NodeType):
    type = "set"
    # Builds new items with their own pairedItem: no need to stamp the input first.
    reuses_input_items = False
    versions = (1, 2, 3, 3.1, 3.2, 3.3, 3.4)
    display_name = "Edit Fields (Set)"
    description = "Modify, add, or remove item fields"
    group = "transform"
    icon = "pen"
    properties = PROPERTIES

    def execute(self, ctx):
        if ctx.type_version < 3:
            return [self._execute_v1(ctx)]
        items = ctx.input_items()
        if not items:
            return [[]]
        if ctx.raw_param("mode") == "raw":
            outputs = self._execute_raw(ctx, items)
        else:
            outputs = self._execute_manual(ctx, items)
        return [self._duplicated(ctx, outputs)]

    # versions 1 and 2
    def _execute_v1(self, ctx):
        items = ctx.input_items() or [{"json": {}}]
        version = ctx.type_version
        keep_only_set = ParamReader(ctx, "keepOnlySet")
        options = ParamReader(ctx, "options")
        values = ParamReader(ctx, "values")
        specs = _v1_specs(values.raw)
        if keep_only_set.static and options.static:
            writer = _v1_writer(options.raw)
            if all(isinstance(name, str) and not has_expression(name) and writer.is_plain(name)
                   for _, _, name, _, _ in specs):
                return self._v1_plain(items, bool(keep_only_set.raw), values, specs, version)
        result = []
        for index, item in enumerate(items):
            writer = _v1_writer(options(index))
            out = {"json": None, "pairedItem": paired_item(index)}
            if keep_only_set(index):
                data = Output({})
            else:
                data = Output(dict(item.get("json") or {}))
                if item.get("binary") is not None:
                    out["binary"] = dict(item["binary"])
            groups = values(index) or {}
            for group, default, convert in V1_SETTERS:
                for entry in groups.get(group) or []:
                    name = js_string(entry.get("name", "propertyName"))
                    writer.set(data, name, convert(entry.get("value", default), version))
            out["json"] = data.data
            result.append(out)
        return result

    @staticmethod
    def _v1_plain(items, keep_only_set, values, specs, version):
        """Versions 1 and 2 item by item when every name is a plain key and the options are fixed;
        same result as the general path."""
        static_groups = values.raw if values.static else None
        result = []
        append = result.append
        for index, item in enumerate(items):
            groups = static_groups or values(index)
            row = {} if keep_only_set else dict(item.get("json") or {})
            for group, position, name, default, convert in specs:
                row[name] = convert(groups[group][position].get("value", default), version)
            out = {"json": row, "pairedItem": paired_item(index)}
            if not keep_only_set and item.get("binary") is not None:
                out["binary"] = dict(item["binary"])
            append(out)
        return result

    # versions 3 and later
    def _execute_manual(self, ctx, items):
        plans = PlanReader(ctx)
        fields = ManualFields(ctx)
        plan = plans.static_plan
        if plan and fields.fixed and plan.include in (INCLUDE_ALL, INCLUDE_NONE) and all(
                plan.writer.is_plain(spec.name) for spec in fields.specs):
            return self._manual_plain(ctx, items, plan, fields)
        result = []
        for index, item in enumerate(items):
            try:
                plan = plans(index)
                result.append(plan.compose(item, index, fields.collect(index, plan.ignore_errors)))
            except (ItemError, ExpressionError) as error:
                result.append(self._manual_failure(ctx, error, index))
        return result

    def _manual_plain(self, ctx, items, plan, fields):
        """The common shape, item by item without indirection: fixed plain field names, options
        without expressions, all or no input fields kept. Same result as the general path."""
        include_all, include_binary, ignore = plan.include == INCLUDE_ALL, plan.include_binary, plan.ignore_errors
        kinds = [spec.kind for spec in fields.specs]
        specs = [(spec.position, spec.name, spec.key, spec.default, _ALREADY_CONVERTED.get(spec.kind, ()),
                  spec.kind == "number") for spec in fields.specs]
        containers, list_key = fields.reader.values, fields.list_key
        static_entries = fields.entries(0) if containers is None else None
        convert = fields.convert
        result = []
        append = result.append
        for index, item in enumerate(items):
            try:
                entries = static_entries if containers is None else (containers[index] or {}).get(list_key) or []
                row = dict(item.get("json") or {}) if include_all else {}
                for position, name, key, default, converted, nan_check in specs:
                    value = entries[position].get(key, default)
                    if type(value) not in converted or (nan_check and value != value):
                        value = convert(kinds[position], name, value, index, ignore)
                    row[name] = value
            except (ItemError, ExpressionError) as error:
                append(self._manual_failure(ctx, error, index))
                continue
            out = {"json": row, "pairedItem": paired_item(index)}
            if include_binary and item.get("binary") is not None:
                out["binary"] = dict(item["binary"])
            append(out)
        return result

    def _manual_failure(self, ctx, error, index):
        # n8n puts pairedItem inside json here; kept as n8n has it.
        return self._failed(ctx, error, index, {"pairedItem": {"item": index}})

    def _execute_raw(self, ctx, items):
        plans = PlanReader(ctx)
        raw = ctx.raw_param("jsonOutput")
        template = RawTemplate(ctx, raw.lstrip("="), "jsonOutput") if isinstance(raw, str) and raw.startswith("=") \
            else None
        json_output = None if template else ParamReader(ctx, "jsonOutput")
        result = []
        for index, item in enumerate(items):
            try:
                plan = plans(index)
                source = template.render(index) if template else json_output(index)
                result.append(plan.compose(item, index, parse_json_parameter(source, index)))
            except (ItemError, ExpressionError) as error:
                result.append(self._failed(ctx, error, index, {}))
        return result

    @staticmethod
    def _failed(ctx, error, index, extra_json):
        """An item that failed: n8n reads its parameters inside the item's try, so continue-on-fail
        turns expression errors into error items too."""
        if not ctx.continue_on_fail:
            if isinstance(error, ExpressionError):
                raise error
            raise ctx.error(error.message, item_index=index, description=error.description)
        message = error.reason if isinstance(error, ExpressionError) else error.message
        return {"json": {"error": message, **extra_json}, "pairedItem": {"item": index}}

    @staticmethod
    def _duplicated(ctx, outputs):
        if not ctx.raw_param("duplicateItem") or ctx.mode != "manual":
            return outputs
        copies = int(js_to_number(ctx.raw_param("duplicateCount") or 0)) + 1
        return [dict(out) for out in outputs for _ in range(copies)]
