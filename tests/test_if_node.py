"""The If node, versions 1 and 2.x, driven through a test double of NodeExecutionContext."""
import json
import re
from types import SimpleNamespace

import pytest

from app.engine.context import get_path
from app.engine.errors import ExpressionError, NodeError
from app.nodes.core.if_node import If

_MISSING = object()
_SOLE = re.compile(r"=\{\{(.*?)\}\}\Z", re.S)
_PART = re.compile(r"\{\{(.*?)\}\}", re.S)


def _evaluate(code, item):
    """A tiny stand-in for the expression engine: `$json.a.b`, `$json["a"]`, JSON literals, and
    `fail()`, which fails for the item."""
    code = code.strip()
    if code == "fail()":
        raise ExpressionError("fail is not defined", parameter="p")
    if code.startswith("$json"):
        path = re.sub(r'\["([^"]+)"\]', r".\1", code[len("$json"):]).lstrip(".")
        value = get_path(item.get("json", {}), path, None) if path else item.get("json")
        return value
    if code == "undefined":
        return None
    return json.loads(code)


def _resolve(value, item):
    if isinstance(value, str) and value.startswith("="):
        sole = _SOLE.match(value)
        if sole:
            return _evaluate(sole.group(1), item)
        return _PART.sub(lambda m: str(_evaluate(m.group(1), item)), value[1:])
    if isinstance(value, dict):
        return {k: _resolve(v, item) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, item) for v in value]
    return value


class Resolved(list):
    """Like the engine's ResolvedValues: reading an item whose expression failed raises its error."""

    def __init__(self, values, errors):
        super().__init__(values)
        self.errors = errors

    def __getitem__(self, index):
        if index in self.errors:
            raise self.errors[index]
        return super().__getitem__(index)


class FakeExpressions:
    def __init__(self, items):
        self.items = items or [{"json": {}}]
        self.calls = []

    def evaluate(self, name, raw):
        self.calls.append((name, raw))
        values, errors = [], {}
        for index, item in enumerate(self.items):
            try:
                values.append(_resolve(raw, item))
            except ExpressionError as error:
                values.append(None)
                errors[index] = error
        return Resolved(values, errors)


class FakeContext:
    """What a node sees of NodeExecutionContext: parameters resolved per item, in one batch."""

    def __init__(self, node_type, parameters, items, version, *, continue_on_fail=False, mode="manual",
                 settings=None):
        self.node = SimpleNamespace(name="Node", parameters=parameters)
        self.node_type = node_type
        self.type_version = version
        self.continue_on_fail = continue_on_fail
        self.mode = mode
        self.settings = settings or {}
        self._items = items
        self.expressions = FakeExpressions(items)
        self.batches = []

    def input_items(self, input_index=0):
        return self._items

    def raw_param(self, name, default=_MISSING):
        value = get_path(self.node.parameters, name, _MISSING)
        if value is not _MISSING:
            return value
        if default is not _MISSING:
            return default
        return self.node_type.default_for(name, self.node.parameters, self.type_version)

    def get_params(self, name, default=_MISSING):
        self.batches.append(name)
        return self.expressions.evaluate(name, self.raw_param(name, default))

    def get_param(self, name, item_index=0, default=_MISSING):
        return self.get_params(name, default)[item_index]

    def error(self, message, item_index=None, description=None):
        return NodeError(message, node=self.node.name, item_index=item_index, description=description)


def items_of(*rows):
    return [{"json": row} for row in rows]


def run(parameters, rows, version, **kwargs):
    ctx = FakeContext(If(), parameters, items_of(*rows), version, **kwargs)
    return If().execute(ctx)


def jsons(output):
    return [item["json"] for item in output]


def condition(left, operator, right="", **operator_extra):
    kind, operation = operator.split(":")
    return {"leftValue": left, "rightValue": right,
            "operator": {"type": kind, "operation": operation, **operator_extra}}


def filter_value(*conditions, combinator="and", **options):
    return {"conditions": list(conditions), "combinator": combinator,
            "options": {"caseSensitive": True, "leftValue": "", "typeValidation": "strict", **options}}


# -- version 2 -----------------------------------------------------------------------------------
def test_v2_routes_items_to_true_and_false_with_paired_items():
    rows = [{"count": 1}, {"count": 5}, {"count": 12}]
    params = {"conditions": filter_value(condition("={{ $json.count }}", "number:gt", 3))}
    true, false = run(params, rows, 2.2)
    assert jsons(true) == [{"count": 5}, {"count": 12}]
    assert jsons(false) == [{"count": 1}]
    assert [item["pairedItem"] for item in true] == [{"item": 1}, {"item": 2}]
    assert false[0]["pairedItem"] == {"item": 0}


def test_v2_output_items_are_new_dicts_sharing_the_input_json():
    items = items_of({"v": 4})
    params = {"conditions": filter_value(condition("={{ $json.v }}", "number:gt", 3))}
    true, _ = If().execute(FakeContext(If(), params, items, 2))
    assert true[0] is not items[0]
    assert true[0]["json"] is items[0]["json"]
    assert "pairedItem" not in items[0]


def test_v2_or_combinator_and_loose_number_strings():
    # n8n's IfV2.number fixture: filter options without typeValidation are loose.
    params = {"conditions": {"options": {"caseSensitive": True, "leftValue": ""}, "combinator": "or", "conditions": [
        condition("={{ $json.count }}", "number:equals", "1"), condition("={{ $json.count }}", "number:gt", "10")]}}
    true, false = run(params, [{"count": 1}, {"count": 5}, {"count": 12}], 2)
    assert jsons(true) == [{"count": 1}, {"count": 12}]
    assert jsons(false) == [{"count": 5}]


def test_v2_case_insensitive_string_conditions_and_exists():
    params = {"conditions": {"options": {"caseSensitive": False, "leftValue": ""}, "combinator": "and", "conditions": [
        condition("={{ $json.firstname }}", "string:startsWith", "s"),
        condition("={{ $json.lastname }}", "any:exists"),
        condition("={{ $json.email }}", "string:endsWith", "@YAHOO.com")]}}
    rows = [{"email": "Shane@yahoo.com", "firstname": "Shane", "lastname": "Martin"},
            {"email": "sarah@gmail.com", "firstname": "Sarah", "lastname": "Dawson"},
            {"email": "Sam@yahoo.com", "firstname": "Sam"}]
    true, false = run(params, rows, 2)
    assert [row["firstname"] for row in jsons(true)] == ["Shane"]
    assert [row["firstname"] for row in jsons(false)] == ["Sarah", "Sam"]


def test_v2_2_loose_boolean_conversion():
    params = {"conditions": filter_value(condition("={{ $json.admin }}", "boolean:true", singleValue=True),
                                         typeValidation="loose", version=2), "looseTypeValidation": True}
    rows = [{"admin": False}, {"admin": True}, {"admin": "false"}, {"admin": "0"}, {"admin": 1}]
    true, false = run(params, rows, 2.2)
    assert jsons(true) == [{"admin": True}, {"admin": 1}]
    assert len(false) == 3


def test_v2_strict_type_error_names_condition_and_item():
    params = {"conditions": filter_value(condition("={{ $json.v }}", "number:gt", 3))}
    with pytest.raises(NodeError) as raised:
        run(params, [{"v": 5}, {"v": "7"}], 2.1)
    error = raised.value
    assert error.message == "Wrong type: '7' is a string but was expecting a number [condition 0, item 1]"
    assert error.item_index == 1
    assert "Converting the first field to a number" in error.description


def test_v2_continue_on_fail_sends_failing_items_to_false():
    params = {"conditions": filter_value(condition("={{ $json.v }}", "number:gt", 3))}
    true, false = run(params, [{"v": 5}, {"v": "x"}], 2, continue_on_fail=True)
    assert jsons(true) == [{"v": 5}]
    assert jsons(false) == [{"v": "x"}]


def test_v2_expression_errors_follow_continue_on_fail():
    params = {"conditions": filter_value(condition("={{ fail() }}", "number:gt", 3))}
    with pytest.raises(ExpressionError):
        run(params, [{"v": 5}], 2)
    true, false = run(params, [{"v": 5}], 2, continue_on_fail=True)
    assert true == [] and jsons(false) == [{"v": 5}]


def test_v2_invalid_regex_is_an_item_error_with_a_hint():
    params = {"conditions": filter_value(condition("={{ $json.s }}", "string:regex", "([a"))}
    with pytest.raises(NodeError) as raised:
        run(params, [{"s": "abc"}], 2.1)
    assert raised.value.message.startswith("Invalid regular expression: /([a/")
    assert "Convert types where required" in raised.value.description


def test_v2_missing_fields_do_not_exist_and_compare_false():
    params = {"conditions": filter_value(condition("={{ $json.missing }}", "number:lt", 3),
                                         combinator="or")}
    true, false = run(params, [{"other": 1}], 2)
    assert true == [] and len(false) == 1


def test_v2_filter_without_stored_options_uses_the_node_options():
    # A hand-written workflow: no conditions.options, so the node's own options decide.
    params = {"conditions": {"conditions": [condition("={{ $json.name }}", "string:equals", "ADA")],
                             "combinator": "and"},
              "options": {"ignoreCase": True}}
    true, _ = run(params, [{"name": "ada"}], 2)
    assert len(true) == 1
    params["looseTypeValidation"] = False
    params["conditions"]["conditions"] = [condition("={{ $json.n }}", "number:equals", "1")]
    with pytest.raises(NodeError, match="Wrong type"):
        run(params, [{"n": 1}], 2.1)


def test_v2_evaluates_the_conditions_in_one_batch():
    ctx = FakeContext(If(), {"conditions": filter_value(condition("={{ $json.v }}", "number:gte", 2))},
                      items_of({"v": 1}, {"v": 2}, {"v": 3}), 2)
    true, false = If().execute(ctx)
    assert ctx.batches == ["conditions"]
    assert len(true) == 2 and len(false) == 1


def test_empty_input_gives_two_empty_outputs():
    assert If().execute(FakeContext(If(), {}, [], 2)) == [[], []]
    assert If().execute(FakeContext(If(), {}, [], 1)) == [[], []]


# -- version 1 -----------------------------------------------------------------------------------
def test_v1_boolean_any_and_all():
    rows = [{"value": True, "value2": False}, {"value": False, "value2": True}]
    any_params = {"conditions": {"boolean": [{"value1": "={{ $json.value }}", "value2": True},
                                             {"value1": "={{ $json.value2 }}", "value2": True}]},
                  "combineOperation": "any"}
    true, false = run(any_params, rows, 1)
    assert len(true) == 2 and false == []
    all_params = {**any_params, "combineOperation": "all"}
    true, false = run(all_params, rows, 1)
    assert true == [] and len(false) == 2


@pytest.mark.parametrize("operation,value2,expected_true", [
    ("smaller", 2, [1]), ("smallerEqual", 2, [1, 2]), ("equal", 1, [1]), ("notEqual", 1, [2]),
    ("larger", 1, [2]), ("largerEqual", 1, [1, 2]), ("isEmpty", None, []), ("isNotEmpty", None, [1, 2]),
])
def test_v1_number_operations(operation, value2, expected_true):
    entry = {"value1": "={{ $json.value }}", "operation": operation}
    if value2 is not None:
        entry["value2"] = value2
    true, _ = run({"conditions": {"number": [entry]}}, [{"value": 1}, {"value": 2}], 1)
    assert [row["value"] for row in jsons(true)] == expected_true


@pytest.mark.parametrize("operation,value2,expected_true", [
    ("contains", "Elon", ["Elon Musk"]), ("notContains", "Elon", ["Arnold Schwarzenegger"]),
    ("endsWith", "Musk", ["Elon Musk"]), ("notEndsWith", "Musk", ["Arnold Schwarzenegger"]),
    ("equal", "Elon Musk", ["Elon Musk"]), ("notEqual", "Elon Musk", ["Arnold Schwarzenegger"]),
    ("regex", "([E])", ["Elon Musk"]), ("notRegex", "/e/i", []),
    ("startsWith", "Elon", ["Elon Musk"]), ("notStartsWith", "Elon", ["Arnold Schwarzenegger"]),
    ("isEmpty", "", []), ("isNotEmpty", "", ["Elon Musk", "Arnold Schwarzenegger"]),
])
def test_v1_string_operations(operation, value2, expected_true):
    params = {"conditions": {"string": [{"value1": "={{ $json.name }}", "operation": operation, "value2": value2}]}}
    true, _ = run(params, [{"name": "Elon Musk"}, {"name": "Arnold Schwarzenegger"}], 1)
    assert [row["name"] for row in jsons(true)] == expected_true


def test_v1_date_time_after_and_before():
    rows = [{"a": "2023-01-01T00:00:00.000-05:00", "b": "2023-01-02T00:00:00.000-05:00"},
            {"a": "2023-01-02T00:00:00.000-05:00", "b": "2023-01-01T00:00:00.000-05:00"}]
    after = {"conditions": {"dateTime": [{"value1": "={{ $json.a }}", "value2": "={{ $json.b }}"}]}}
    true, false = run(after, rows, 1)
    assert jsons(true) == [rows[1]] and jsons(false) == [rows[0]]
    after["conditions"]["dateTime"][0]["operation"] = "before"
    true, _ = run(after, rows, 1)
    assert jsons(true) == [rows[0]]


def test_v1_invalid_date_is_an_error_for_the_item():
    params = {"conditions": {"dateTime": [{"value1": "={{ $json.a }}", "value2": "2023-01-01"}]}}
    with pytest.raises(NodeError) as raised:
        run(params, [{"a": "2023-01-05"}, {"a": "not a date"}], 1)
    assert raised.value.message == 'The value "not a date" is not a valid DateTime.'
    assert raised.value.item_index == 1


def test_v1_string_method_on_a_number_fails_like_javascript():
    params = {"conditions": {"string": [{"value1": "={{ $json.n }}", "operation": "startsWith", "value2": "1"}]}}
    with pytest.raises(NodeError, match="startsWith is not a function"):
        run(params, [{"n": 12}], 1)


# -- description ---------------------------------------------------------------------------------
def test_description_declares_outputs_and_versioned_forms():
    node = If()
    assert node.output_names == ("true", "false") and node.group == "flow"
    assert set(node.versions) == {1, 2, 2.1, 2.2, 2.3}
    assert node.default_for("combineOperation", {}, 1) == "all"
    filter_prop = [p for p in node.properties if p.name == "conditions" and p.type == "filter"][0]
    assert filter_prop.type_options["filter"]["version"].startswith("={{")
