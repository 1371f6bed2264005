"""If: routes each item to the "true" or the "false" output.

Version 1 compares typed value pairs (boolean, dateTime, number, string groups) combined with
ALL/ANY; versions 2–2.3 evaluate n8n's filter parameter (app.engine.filter_parameter).
"""
import math

from app.engine.errors import ExpressionError
from app.engine.filter_parameter import FilterError, compile_filter, js_regex, js_strict_equal
from app.engine.items import paired_item
from app.engine.node import NodeType, Option, Property
from app.engine.registry import register
from app.engine.type_validation import (
    ConversionError, epoch_millis, is_number, js_string, js_to_number, try_to_parse_datetime,
)

V1 = {"@version": [1]}
V2 = {"@version": [{"_cnd": {"gte": 2}}]}
ENABLE_LESS_STRICT_TYPE_VALIDATION = (
    "Try changing the type of comparison. Alternatively you can enable 'Convert types where required'.")
LOOSE_TYPE_VALIDATION_DESCRIPTION = (
    "If the type of an expression doesn't match the type of the comparison, n8n will try to cast the "
    "expression to the required type. E.g. for booleans <code>\"false\"</code> or <code>0</code> will be "
    "cast to <code>false</code>")


# -- description -----------------------------------------------------------------------------------
def _value(name, display_name, kind, default, description, **extra):
    return Property(name=name, display_name=display_name, type=kind, default=default,
                    description=description, **extra)


def _operation(options, default, **extra):
    return Property(name="operation", display_name="Operation", type="options", default=default,
                    description="Operation to decide where the data should be mapped to",
                    options=[Option(name, value) for name, value in options], **extra)


_NUMBER_OPERATIONS = (("Smaller", "smaller"), ("Smaller or Equal", "smallerEqual"), ("Equal", "equal"),
                      ("Not Equal", "notEqual"), ("Larger", "larger"), ("Larger or Equal", "largerEqual"),
                      ("Is Empty", "isEmpty"), ("Is Not Empty", "isNotEmpty"))
_STRING_OPERATIONS = (("Contains", "contains"), ("Not Contains", "notContains"), ("Ends With", "endsWith"),
                      ("Not Ends With", "notEndsWith"), ("Equal", "equal"), ("Not Equal", "notEqual"),
                      ("Regex Match", "regex"), ("Regex Not Match", "notRegex"), ("Starts With", "startsWith"),
                      ("Not Starts With", "notStartsWith"), ("Is Empty", "isEmpty"), ("Is Not Empty", "isNotEmpty"))
FIRST, SECOND = "The value to compare with the second one", "The value to compare with the first one"


def _group(name, display_name, values):
    return Property(name=name, display_name=display_name, type="collection", options=list(values))


V1_CONDITION_GROUPS = [
    _group("boolean", "Boolean", (
        _value("value1", "Value 1", "boolean", False, FIRST),
        _operation((("Equal", "equal"), ("Not Equal", "notEqual")), "equal"),
        _value("value2", "Value 2", "boolean", False, SECOND),
    )),
    _group("dateTime", "Date & Time", (
        _value("value1", "Value 1", "dateTime", "", FIRST),
        _operation((("Occurred After", "after"), ("Occurred Before", "before")), "after"),
        _value("value2", "Value 2", "dateTime", "", SECOND),
    )),
    _group("number", "Number", (
        _value("value1", "Value 1", "number", 0, FIRST),
        _operation(_NUMBER_OPERATIONS, "smaller", no_data_expression=True),
        _value("value2", "Value 2", "number", 0, SECOND,
               display_options={"hide": {"operation": ["isEmpty", "isNotEmpty"]}}),
    )),
    _group("string", "String", (
        _value("value1", "Value 1", "string", "", FIRST),
        _operation(_STRING_OPERATIONS, "equal", no_data_expression=True),
        _value("value2", "Value 2", "string", "", SECOND,
               display_options={"hide": {"operation": ["isEmpty", "isNotEmpty", "regex", "notRegex"]}}),
        _value("value2", "Regex", "string", "", "The regex which has to match", placeholder="/text/i",
               display_options={"show": {"operation": ["regex", "notRegex"]}}),
    )),
]
# The filter's own options, as n8n's editor derives them from the node's other parameters.
FILTER_TYPE_OPTIONS = {"filter": {
    "caseSensitive": "={{!$parameter.options.ignoreCase}}",
    "typeValidation": '={{ ($nodeVersion < 2.1 ? $parameter.options.looseTypeValidation :  '
                      '$parameter.looseTypeValidation) ? "loose" : "strict" }}',
    "version": "={{ $nodeVersion >= 2.3 ? 3 : $nodeVersion >= 2.2 ? 2 : 1 }}",
}}


def _loose_type_validation(default, version_rule):
    return Property(name="looseTypeValidation", display_name="Convert types where required", type="boolean",
                    default=default, description=LOOSE_TYPE_VALIDATION_DESCRIPTION,
                    display_options={"show": {"@version": [version_rule]}})


PROPERTIES = (
    Property(name="conditions", display_name="Conditions", type="fixedCollection", default={},
             placeholder="Add Condition", description="The type of values to compare",
             type_options={"multipleValues": True, "sortable": True}, options=V1_CONDITION_GROUPS,
             display_options={"show": V1}),
    Property(name="combineOperation", display_name="Combine", type="options", default="all",
             description="If multiple rules got set this settings decides if it is true as soon as ANY "
                         "condition matches or only if ALL get meet",
             options=[Option("ALL", "all", 'Only if all conditions are met it goes into "true" branch'),
                      Option("ANY", "any", 'If any of the conditions is met it goes into "true" branch')],
             display_options={"show": V1}),
    Property(name="conditions", display_name="Conditions", type="filter", default={}, placeholder="Add Condition",
             type_options=FILTER_TYPE_OPTIONS, display_options={"show": V2}),
    _loose_type_validation(False, {"_cnd": {"gte": 2.1}}),
    Property(name="options", display_name="Options", type="collection", default={}, placeholder="Add option",
             display_options={"show": V2}, options=[
                 Property(name="ignoreCase", display_name="Ignore Case", type="boolean", default=True,
                          description="Whether to ignore letter case when evaluating conditions"),
                 _loose_type_validation(True, {"_cnd": {"lt": 2.1}}),
             ]),
)


# -- version 1 -------------------------------------------------------------------------------------
def _falsy(value):
    return value in (None, False, 0, "") or (type(value) is float and math.isnan(value))


def _primitive(value):
    return js_string(value) if isinstance(value, (dict, list)) else value


def _js_less(a, b):
    """`a < b` with JavaScript's coercion (strings compare as text, everything else as numbers)."""
    a, b = _primitive(a), _primitive(b)
    if type(a) is str and type(b) is str:
        return a < b
    return js_to_number(a) < js_to_number(b)


def _or_zero(value):
    return 0 if _falsy(value) else value


def _text_or_empty(value):
    return "" if _falsy(value) else js_string(value)


def _string_method(method, js_name):
    """`(value1 as string).endsWith(value2)`: JavaScript throws when value1 is not a string."""
    def call(value1, value2):
        if value1 is None:
            raise TypeError(f"Cannot read properties of null (reading '{js_name}')")
        if type(value1) is not str:
            raise TypeError(f"value1.{js_name} is not a function")
        return getattr(value1, method)(js_string(value2))
    return call


_starts_with = _string_method("startswith", "startsWith")
_ends_with = _string_method("endswith", "endsWith")


def _is_empty(value):
    if value is None or value == "" or (type(value) is float and math.isnan(value)):
        return True
    return isinstance(value, (dict, list)) and len(value) == 0


def _regex_match(value1, value2):
    return js_regex(_text_or_empty(value2))(_text_or_empty(value1))


def _comparable(a, b):
    """`a >= b` is false in JavaScript when either side converts to NaN."""
    a, b = _primitive(_or_zero(a)), _primitive(_or_zero(b))
    if type(a) is str and type(b) is str:
        return True
    return not (math.isnan(js_to_number(a)) or math.isnan(js_to_number(b)))


V1_COMPARISONS = {
    "after": lambda a, b: _js_less(_or_zero(b), _or_zero(a)),
    "before": lambda a, b: _js_less(_or_zero(a), _or_zero(b)),
    "larger": lambda a, b: _js_less(_or_zero(b), _or_zero(a)),
    "largerEqual": lambda a, b: not _js_less(_or_zero(a), _or_zero(b)) and _comparable(a, b),
    "smaller": lambda a, b: _js_less(_or_zero(a), _or_zero(b)),
    "smallerEqual": lambda a, b: not _js_less(_or_zero(b), _or_zero(a)) and _comparable(a, b),
    "contains": lambda a, b: _text_or_empty(b) in _text_or_empty(a),
    "notContains": lambda a, b: _text_or_empty(b) not in _text_or_empty(a),
    "startsWith": _starts_with,
    "notStartsWith": lambda a, b: not _starts_with(a, b),
    "endsWith": _ends_with,
    "notEndsWith": lambda a, b: not _ends_with(a, b),
    "equal": js_strict_equal,
    "notEqual": lambda a, b: not js_strict_equal(a, b),
    "isEmpty": lambda a, b: _is_empty(a),
    "isNotEmpty": lambda a, b: not _is_empty(a),
    "regex": _regex_match,
    "notRegex": lambda a, b: not _regex_match(a, b),
}


V1_DATA_TYPES = ("boolean", "dateTime", "number", "string")
V1_DEFAULTS = {
    "boolean": {"value1": False, "operation": "equal", "value2": False},
    "dateTime": {"value1": "", "operation": "after", "value2": ""},
    "number": {"value1": 0, "operation": "smaller", "value2": 0},
    "string": {"value1": "", "operation": "equal", "value2": ""},
}


def _v1_date(value, zone):
    """n8n's convertDateTime: strings parse as dates, numbers are epoch milliseconds."""
    if is_number(value) and not math.isnan(value):
        return value
    if type(value) is str:
        try:
            return epoch_millis(try_to_parse_datetime(value, zone))
        except ConversionError:
            pass
    shown = "undefined" if value is None else js_string(value)
    raise ValueError(f'The value "{shown}" is not a valid DateTime.')


def _v1_passes(conditions, combine, zone):
    for data_type in V1_DATA_TYPES:
        for entry in (conditions or {}).get(data_type) or []:
            entry = {**V1_DEFAULTS[data_type], **entry}
            value1, value2 = entry["value1"], entry["value2"]
            if data_type == "dateTime":
                value1, value2 = _v1_date(value1, zone), _v1_date(value2, zone)
            compare = V1_COMPARISONS.get(entry["operation"])
            if compare is None:
                raise ValueError("compareOperationFunctions[compareData.operation] is not a function")
            result = compare(value1, value2)
            if result and combine == "any":
                return True
            if not result and combine == "all":
                return False
    return combine == "all"


# -- the node --------------------------------------------------------------------------------------
def _routed(item, index):
    out = dict(item)
    out["pairedItem"] = paired_item(index)
    return out


@register
class If(NodeType):
    type = "if"
    # Builds new items with their own pairedItem: no need to stamp the input first.
    reuses_input_items = False
    versions = (1, 2, 2.1, 2.2, 2.3)
    display_name = "If"
    description = "Route items to different branches (true/false)"
    group = "flow"
    icon = "map-signs"
    outputs = ("main", "main")
    output_names = ("true", "false")
    properties = PROPERTIES

    def output_count(self, node):
        return 2

    def execute(self, ctx):
        items = ctx.input_items()
        if not items:
            return [[], []]
        zone = (ctx.settings or {}).get("timezone")
        if ctx.type_version < 2:
            return self._execute_v1(ctx, items, zone)
        return self._execute_v2(ctx, items, zone)

    def _execute_v1(self, ctx, items, zone):
        true_items, false_items = [], []
        conditions = ctx.get_params("conditions")
        combines = ctx.get_params("combineOperation")
        for index, item in enumerate(items):
            try:
                passed = _v1_passes(conditions[index], combines[index], zone)
            except (TypeError, ValueError) as error:
                raise ctx.error(str(error), item_index=index) from None
            (true_items if passed else false_items).append(_routed(item, index))
        return [true_items, false_items]

    def _execute_v2(self, ctx, items, zone):
        compiled = compile_filter(ctx.raw_param("conditions"), zone=zone,
                                  default_options=self._filter_options(ctx))
        passes = compiled.passes
        values = ctx.get_params("conditions")
        true_items, false_items = [], []
        for index, item in enumerate(items):
            try:
                passed = passes(values[index], index)
            except ExpressionError:
                # n8n resolves the conditions inside the item's try: continue-on-fail covers them too.
                if not ctx.continue_on_fail:
                    raise
                passed = False
            except (FilterError, ValueError) as error:
                if not ctx.continue_on_fail:
                    raise self._item_error(ctx, error, index) from None
                passed = False
            out = item.copy()  # inlined _routed: this loop runs once per item
            out["pairedItem"] = paired_item(index)
            (true_items if passed else false_items).append(out)
        return [true_items, false_items]

    @staticmethod
    def _loose(ctx, index):
        if ctx.type_version < 2.1:
            return bool((ctx.get_param("options", index) or {}).get("looseTypeValidation"))
        return bool(ctx.get_param("looseTypeValidation", index))

    def _item_error(self, ctx, error, index):
        description = getattr(error, "description", None)
        if not description and not self._loose(ctx, index):
            description = ENABLE_LESS_STRICT_TYPE_VALIDATION
        return ctx.error(str(error), item_index=index, description=description)

    def _filter_options(self, ctx):
        """The filter options n8n's editor would have stored, for a value that carries none."""
        version = ctx.type_version
        options = ctx.raw_param("options") or {}
        loose = options.get("looseTypeValidation") if version < 2.1 else ctx.raw_param("looseTypeValidation")
        return {"caseSensitive": not options.get("ignoreCase"), "typeValidation": "loose" if loose else "strict",
                "version": 3 if version >= 2.3 else 2 if version >= 2.2 else 1}
