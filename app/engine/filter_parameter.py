"""n8n's "filter" parameter: conditions combined with and/or, each an operator on two values.

A filter value (`{"conditions": [...], "combinator": "and", "options": {...}}`) is what the If,
Filter and Switch nodes store. `compile_filter(raw)` looks at the value as written once per node
run and builds one checker per condition, so each item only pays for converting its two values
and comparing them; `passes(resolved, item_index)` then takes the value with its expressions
resolved for that item. Behaviour follows n8n-workflow's `executeFilter`, including its type
conversion (`options.typeValidation` strict or loose, `options.version`) and its error messages.
"""
import math
import operator as op
import re
from functools import lru_cache

from app.engine.context import has_expression
from app.engine.type_validation import (
    ConversionError, epoch_millis, is_number, js_string, js_to_number, js_trim, js_typeof,
    try_to_parse_array, try_to_parse_boolean, try_to_parse_datetime, try_to_parse_object,
    try_to_parse_string,
)

_INVALID = object()
REGEX_OPERATIONS = ("regex", "notRegex")


class FilterError(Exception):
    """A condition's values do not have the type its operator compares (n8n's FilterError)."""

    def __init__(self, message, description):
        super().__init__(message)
        self.message = message
        self.description = description


# -- value conversion per operator type ------------------------------------------------------------
def _js_truthy(value):
    if isinstance(value, float) and math.isnan(value):
        return False
    return value not in (None, False, 0, "")


def _parse_string(strict):
    def parse(value):
        if value is None or type(value) is str:
            return value
        return _INVALID if strict else try_to_parse_string(value)
    return parse


def _parse_number(strict, version):
    def parse(value):
        kind = type(value)
        if kind is int or kind is float or value is None:
            return value
        if version >= 3 and ((kind is str and js_trim(value) == "") or value == []):
            return None  # n8n: Number("") and Number([]) are 0, which nobody means
        if strict:
            return _INVALID
        number = js_to_number(value)
        return _INVALID if type(number) is float and math.isnan(number) else number
    return parse


def _parse_boolean(strict, version):
    def parse(value):
        if type(value) is bool or value is None:
            return value
        if strict:
            return _INVALID
        if version >= 2:
            try:
                return try_to_parse_boolean(value)
            except ConversionError:
                pass
        return _js_truthy(value)
    return parse


def _parse_with(convert, accepts_strict):
    def parse(value):
        if value is None:
            return None
        if accepts_strict is not None and not accepts_strict(value):
            return _INVALID
        try:
            return convert(value)
        except ConversionError:
            return _INVALID
    return parse


def _parse_datetime(zone):
    # Items often share dates (a constant right operand): remember them for this node run.
    seen = {}

    def parse(value):
        if value is None:
            return None
        key = value if type(value) is str else None
        if key in seen:
            return seen[key]
        try:
            millis = epoch_millis(try_to_parse_datetime(value, zone))
        except ConversionError:
            millis = _INVALID
        if key is not None:
            seen[key] = millis
        return millis
    return parse


def _value_parser(kind, strict, version, zone):
    """n8n's parseSingleFilterValue for one operand type: a function value → converted value,
    or _INVALID when the value cannot be (strict: is not) of that type."""
    if kind == "string":
        return _parse_string(strict)
    if kind == "number":
        return _parse_number(strict, version)
    if kind == "boolean":
        return _parse_boolean(strict, version)
    if kind == "dateTime":
        return _parse_datetime(zone)
    if kind == "array":
        return _parse_with(try_to_parse_array, (lambda v: isinstance(v, list)) if strict else None)
    if kind == "object":
        return _parse_with(try_to_parse_object, (lambda v: isinstance(v, (dict, list))) if strict else None)
    return lambda value: value


# -- comparisons -----------------------------------------------------------------------------------
def _exists(value):
    return value is not None and not (type(value) is float and math.isnan(value))


def _lower_if_text(value):
    return value.lower() if type(value) is str else value


_JS_NAMED_GROUP = re.compile(r"\(\?<(?![=!])")
_JS_BACKREFERENCE = re.compile(r"\\k<(\w+)>")
_REGEX_LITERAL = re.compile(r"^/(.*?)/([gimusy]*)$", re.S)


def _python_pattern(pattern, multiline):
    """JavaScript regex syntax Python's `re` reads differently: named groups, `[^]`, and `$`
    (which in JavaScript matches only at the very end without the m flag)."""
    pattern = _JS_BACKREFERENCE.sub(r"(?P=\1)", _JS_NAMED_GROUP.sub("(?P<", pattern))
    out, in_class, i = [], False, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if not in_class and pattern.startswith("[^]", i):
            out.append(r"[\s\S]")
            i += 3
            continue
        if char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "$" and not in_class and not multiline:
            char = r"(?:$(?!\n))"
        out.append(char)
        i += 1
    return "".join(out)


@lru_cache(maxsize=256)
def js_regex(text, ignore_case=False):
    """n8n's parseRegexPattern: `/pattern/flags` or a bare pattern; returns a test function."""
    literal = _REGEX_LITERAL.match(text or "")
    pattern, flags = (literal.group(1), literal.group(2)) if literal else (text or "", "")
    if ignore_case and "i" not in flags:
        flags += "i"
    options = (re.I if "i" in flags else 0) | (re.M if "m" in flags else 0) | (re.S if "s" in flags else 0)
    try:
        compiled = re.compile(_python_pattern(pattern, "m" in flags), options)
    except re.error as error:
        raise ValueError(f"Invalid regular expression: /{pattern}/{flags}: {error}") from None
    # The sticky flag anchors the match where the search starts: at 0 for a fresh RegExp.
    return (lambda s: compiled.match(s) is not None) if "y" in flags else (lambda s: compiled.search(s) is not None)


def _string_comparison(operation, ignore_case):
    tests = {
        "empty": lambda a, b: len(a) == 0,
        "notEmpty": lambda a, b: len(a) != 0,
        "equals": lambda a, b: a == b,
        "notEquals": lambda a, b: a != b,
        "contains": lambda a, b: b in a,
        "notContains": lambda a, b: b not in a,
        "startsWith": lambda a, b: a.startswith(b),
        "notStartsWith": lambda a, b: not a.startswith(b),
        "endsWith": lambda a, b: a.endswith(b),
        "notEndsWith": lambda a, b: not a.endswith(b),
        "regex": lambda a, b: js_regex(b, ignore_case)(a),
        "notRegex": lambda a, b: not js_regex(b, ignore_case)(a),
    }
    test = tests.get(operation)
    if test is None:
        return None
    lower = ignore_case and operation not in REGEX_OPERATIONS

    def compare(left, right):
        if lower:
            left, right = _lower_if_text(left), _lower_if_text(right)
        return test("" if left is None else left, "" if right is None else right)
    return compare


# null/undefined in an ordering comparison: undefined (a missing field, by far the common case)
# makes JavaScript's comparison false, and None cannot tell the two apart.
def _ordered(test):
    return lambda a, b: a is not None and b is not None and test(a, b)


_NUMBER_ORDER = {"gt": op.gt, "lt": op.lt, "gte": op.ge, "lte": op.le}
_NUMBER_TESTS = {"equals": op.eq, "notEquals": op.ne, **{name: _ordered(test) for name, test in _NUMBER_ORDER.items()}}
_DATETIME_TESTS = {
    "equals": lambda a, b: a == b,
    "notEquals": lambda a, b: a != b,
    "after": lambda a, b: a > b,
    "before": lambda a, b: a < b,
    "afterOrEquals": lambda a, b: a >= b,
    "beforeOrEquals": lambda a, b: a <= b,
}
_BOOLEAN_TESTS = {
    "true": lambda a, b: bool(a),
    "false": lambda a, b: not a,
    "equals": lambda a, b: js_strict_equal(a, b),
    "notEquals": lambda a, b: not js_strict_equal(a, b),
}
_EMPTINESS = {"empty": lambda a, b: not _exists(a), "notEmpty": lambda a, b: _exists(a)}


def js_strict_equal(a, b):
    """`a === b` on JSON values (objects are only equal to themselves)."""
    if a is None or b is None:
        return a is b
    kind_a, kind_b = js_typeof(a), js_typeof(b)
    if kind_a != kind_b:
        return False
    return a == b if kind_a != "object" else a is b


def _same_value_zero(a, b):
    if type(a) is float and type(b) is float and math.isnan(a) and math.isnan(b):
        return True
    return js_strict_equal(a, b)


def array_contains(array, value, ignore_case):
    """n8n's arrayContainsValue."""
    if ignore_case and type(value) is str:
        wanted = value.lower()
        return any(type(item) is str and item.lower() == wanted for item in array)
    return any(_same_value_zero(item, value) for item in array)


def _length_test(test):
    return lambda a, b: is_number(b) and test(len(a), b)


_ARRAY_TESTS = {
    "lengthEquals": _length_test(lambda n, b: n == b),
    "lengthNotEquals": lambda a, b: not (is_number(b) and len(a) == b),
    "lengthGt": _length_test(lambda n, b: n > b),
    "lengthLt": _length_test(lambda n, b: n < b),
    "lengthGte": _length_test(lambda n, b: n >= b),
    "lengthLte": _length_test(lambda n, b: n <= b),
    "empty": lambda a, b: len(a) == 0,
    "notEmpty": lambda a, b: len(a) != 0,
}


def _array_comparison(operation, ignore_case):
    if operation == "contains":
        return lambda a, b: array_contains(a or [], b, ignore_case)
    if operation == "notContains":
        return lambda a, b: not array_contains(a or [], b, ignore_case)
    test = _ARRAY_TESTS.get(operation)
    return None if test is None else (lambda a, b: test([] if a is None else a, b))


def _datetime_comparison(operation):
    if operation in _EMPTINESS:
        return _EMPTINESS[operation]
    test = _DATETIME_TESTS.get(operation)
    return None if test is None else (lambda a, b: a is not None and b is not None and test(a, b))


_OBJECT_TESTS = {
    "empty": lambda a, b: not a,
    "notEmpty": lambda a, b: bool(a),
}


def _comparison(kind, operation, ignore_case):
    """The test on converted values; None for an operator n8n does not know (it is false)."""
    if operation == "exists":
        return lambda a, b: _exists(a)
    if operation == "notExists":
        return lambda a, b: not _exists(a)
    if kind == "string":
        return _string_comparison(operation, ignore_case)
    if kind == "number":
        return _EMPTINESS.get(operation) or _NUMBER_TESTS.get(operation)
    if kind == "dateTime":
        return _datetime_comparison(operation)
    if kind == "boolean":
        return _EMPTINESS.get(operation) or _BOOLEAN_TESTS.get(operation)
    if kind == "array":
        return _array_comparison(operation, ignore_case)
    if kind == "object":
        return _OBJECT_TESTS.get(operation)
    return None


# -- type errors -----------------------------------------------------------------------------------
def _with_article(noun):
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


_CONVERSION_FUNCTIONS = {"string": ".toString()", "number": ".toNumber()", "boolean": ".toBoolean()"}


def _general_description(strict):
    if strict:
        return "Try changing the type of comparison. Alternatively you can enable 'Convert types where required'."
    return "Try changing the type of the comparison."


def _invalid_type_description(kind, position, strict):
    function = _CONVERSION_FUNCTIONS.get(kind)
    if not (strict and function):
        return _general_description(strict)
    return ("\n<p>Try either:</p>\n<ol>\n  <li>Enabling 'Convert types where required'</li>\n"
            f"  <li>Converting the {position} field to {_with_article(kind)} by adding <code>{function}</code></li>\n"
            "</ol>\n\t\t\t")


def _invalid_type_message(kind, value, strict, suffix):
    from_type, shown, expected = js_typeof(value), js_string(value), _with_article(kind)
    if strict:
        return f"Wrong type: '{shown}' is {_with_article(from_type)} but was expecting {expected} {suffix}"
    return f"Conversion error: the {from_type} '{shown}' can't be converted to {expected} {suffix}"


def type_error(kind, right_kind, left, right, left_valid, right_valid, strict, index, item_index):
    """The FilterError n8n raises when a condition's operand has the wrong type."""
    suffix = f"[condition {index}, item {item_index}]"
    if not left_valid and not right_valid and js_typeof(left) == js_typeof(right):
        return FilterError(f"Comparison type expects {_with_article(kind)} but both fields are "
                           f"{_with_article(js_typeof(left))}", _general_description(strict))
    if not left_valid:
        return FilterError(_invalid_type_message(kind, left, strict, suffix),
                           _invalid_type_description(kind, "first", strict))
    return FilterError(_invalid_type_message(right_kind, right, strict, suffix),
                       _invalid_type_description(right_kind, "second", strict))


# -- conditions and filters ------------------------------------------------------------------------
# Operand types that convert to themselves, so a value of that type needs no parsing.
_CONVERTED = {"string": (str,), "number": (int, float), "boolean": (bool,)}
_NO_CONSTANT = object()


def condition_checker(operator, options, zone=None, right=_NO_CONSTANT):
    """A function (left, right, condition index, item index) → bool for one condition shape.
    `right` is the right operand when it is the same for every item: it is converted once."""
    operator = operator if isinstance(operator, dict) else {}
    kind = operator.get("type")
    right_kind = operator.get("rightType") or kind
    single_value = bool(operator.get("singleValue"))
    strict = options.get("typeValidation") == "strict"
    version = options.get("version") or 1
    parse_left = _value_parser(kind, strict, version, zone)
    parse_right = _value_parser(right_kind, strict, version, zone)
    operation = operator.get("operation")
    compare = _comparison(kind, operation, not options.get("caseSensitive"))
    if compare is None:
        compare = _never

    def check(left, right, index, item_index):
        left_value = parse_left(left)
        right_value = parse_right(right)
        if left_value is _INVALID or (right_value is _INVALID and not single_value):
            raise type_error(kind, right_kind, left, right, left_value is not _INVALID,
                             right_value is not _INVALID or single_value, strict, index, item_index)
        if right_value is _INVALID:
            right_value = None
        return compare(left_value, right_value)

    if right is _NO_CONSTANT:
        return check
    constant = parse_right(right)
    if constant is _INVALID:
        if not single_value:
            return check
        constant = None
    converted = _CONVERTED.get(kind, ())
    # Both operands are numbers on the fast path, so ordering needs no null check.
    fast_compare = _NUMBER_ORDER.get(operation, compare) if kind == "number" and constant is not None else compare

    def check_constant(left, _right, index, item_index):
        if type(left) in converted:
            return fast_compare(left, constant)
        left_value = parse_left(left)
        if left_value is _INVALID:
            return check(left, right, index, item_index)
        return compare(left_value, constant)
    return check_constant


def _never(left, right):
    return False


def _conditions_of(value):
    conditions = value.get("conditions") if isinstance(value, dict) else None
    return conditions if isinstance(conditions, list) else []


def _combined(combinator, checks):
    """passes(value, item_index) for a list of condition checkers."""
    if combinator not in ("and", "or"):
        return lambda value, item_index: False
    if len(checks) == 1:
        (check,) = checks

        def passes_one(value, item_index):
            condition = value["conditions"][0]
            return check(condition.get("leftValue"), condition.get("rightValue"), 0, item_index)
        return passes_one
    if combinator == "and":
        def passes_all(value, item_index):
            conditions = value["conditions"]
            for index, check in enumerate(checks):
                condition = conditions[index]
                if not check(condition.get("leftValue"), condition.get("rightValue"), index, item_index):
                    return False
            return True
        return passes_all

    def passes_any(value, item_index):
        conditions = value["conditions"]
        for index, check in enumerate(checks):
            condition = conditions[index]
            if check(condition.get("leftValue"), condition.get("rightValue"), index, item_index):
                return True
        return False
    return passes_any


class CompiledFilter:
    """One filter parameter prepared for a node run (see `compile_filter`)."""

    def __init__(self, raw, zone=None, default_options=None):
        self.zone = zone
        self.default_options = default_options or {}
        self._cache = {}
        static = isinstance(raw, dict) and not any(has_expression(part) for part in self._structure(raw))
        # A shape fixed for the whole run is compiled once, constant right operands included.
        self.passes = self._compile(raw, constants=True) if static else self._passes_per_shape

    @staticmethod
    def _structure(value):
        """The parts of a filter value that decide how it compares (all but the operands)."""
        yield value.get("combinator")
        yield value.get("options")
        for condition in _conditions_of(value):
            yield condition.get("operator") if isinstance(condition, dict) else condition

    def _compile(self, value, constants):
        options = value.get("options")
        options = options if isinstance(options, dict) else self.default_options
        checks = []
        for condition in _conditions_of(value):
            condition = condition if isinstance(condition, dict) else {}
            right = condition.get("rightValue")
            constant = right if constants and not has_expression(right) else _NO_CONSTANT
            checks.append(condition_checker(condition.get("operator"), options, self.zone, constant))
        return _combined(value.get("combinator") or "and", checks)

    def _passes_per_shape(self, value, item_index=0):
        key = repr(list(self._structure(value)))
        if key not in self._cache:
            self._cache[key] = self._compile(value, constants=False)
        return self._cache[key](value, item_index)


def compile_filter(raw, *, zone=None, default_options=None):
    """Prepare the filter parameter `raw` (as written, expressions unresolved) for a node run;
    `compile_filter(raw).passes(resolved, item_index)` then tests one item. `default_options`
    apply when the value carries no `options` (n8n's editor always writes them; a hand-written
    workflow may not). `zone` is the time zone of dates without an offset."""
    return CompiledFilter(raw, zone, default_options)


def execute_filter(value, item_index=0, *, zone=None, default_options=None):
    """Evaluate one resolved filter value once (n8n's executeFilter)."""
    return CompiledFilter(value, zone, default_options).passes(value, item_index)
