"""The Set node: versions 1/2 (`values`), 3–3.2 (`fields.values`), 3.3+ (`assignments`), raw JSON."""
import copy

import pytest

from app.engine.errors import ExpressionError, NodeError
from app.nodes.core.set_node import Set, string_to_path
from tests.test_if_node import FakeContext, items_of


def run(parameters, items, version, **kwargs):
    ctx = FakeContext(Set(), parameters, items, version, **kwargs)
    (output,) = Set().execute(ctx)
    return output


def jsons(output):
    return [item["json"] for item in output]


def assignments(*entries, **parameters):
    return {"assignments": {"assignments": [
        {"id": str(i), "name": name, "type": kind, "value": value} for i, (name, kind, value) in enumerate(entries)]},
        **parameters}


def fields(*entries, **parameters):
    values = []
    for name, kind, value in entries:
        entry = {"name": name, "type": kind}
        if value is not None:
            entry[kind] = value
        values.append(entry)
    return {"fields": {"values": values}, **parameters}


SOURCE = {"nested": {"foo": "bar"}, "list": ["foo"]}


# -- versions 1 and 2 ------------------------------------------------------------------------------
def test_v1_sets_typed_values_over_a_copy_of_the_input():
    items = items_of(copy.deepcopy(SOURCE))
    params = {"values": {"string": [{"name": "string", "value": "foo"}],
                         "boolean": [{"name": "boolean", "value": True}],
                         "number": [{"name": "number", "value": 1}]}}
    output = run(params, items, 1)
    assert jsons(output) == [{**SOURCE, "string": "foo", "boolean": True, "number": 1}]
    assert output[0]["pairedItem"] == {"item": 0}
    assert items[0]["json"] == SOURCE


def test_v1_keep_only_set():
    params = {"keepOnlySet": True, "values": {"string": [{"name": "string", "value": "foo"}]}}
    assert jsons(run(params, items_of(SOURCE), 1)) == [{"string": "foo"}]


def test_v1_dot_notation_writes_nested_paths_without_touching_the_input():
    items = items_of(copy.deepcopy(SOURCE))
    params = {"values": {"string": [{"name": "nested.string", "value": "foo"}, {"name": "list[1]", "value": "bar"}],
                         "number": [{"name": "list[3]", "value": 1}]}}
    output = run(params, items, 1)
    assert jsons(output) == [{"nested": {"foo": "bar", "string": "foo"}, "list": ["foo", "bar", None, 1]}]
    assert items[0]["json"] == SOURCE


def test_v1_without_dot_notation_keys_are_literal():
    params = {"values": {"boolean": [{"name": "nested.boolean", "value": True}]}, "options": {"dotNotation": False}}
    assert jsons(run(params, items_of(SOURCE), 1)) == [{**SOURCE, "nested.boolean": True}]


def test_v1_keeps_number_strings_and_v2_converts_them():
    params = {"keepOnlySet": True, "values": {"number": [{"name": "n", "value": "={{ $json.s }}"}],
                                              "boolean": [{"name": "b", "value": "={{ $json.s }}"}]}}
    assert jsons(run(params, items_of({"s": "123456"}), 1)) == [{"b": True, "n": "123456"}]
    assert jsons(run(params, items_of({"s": "123456"}), 2)) == [{"b": True, "n": 123456}]
    assert jsons(run(params, items_of({"s": "abc"}), 2)) == [{"b": True, "n": "abc"}]


def test_v1_runs_once_without_input():
    params = {"values": {"string": [{"name": "a", "value": "x"}]}}
    output = run(params, [], 1)
    assert output == [{"json": {"a": "x"}, "pairedItem": {"item": 0}}]


def test_v1_copies_binary_unless_only_set_values_are_kept():
    item = {"json": {}, "binary": {"data": {"mimeType": "text/plain"}}}
    output = run({"values": {}}, [item], 1)
    assert output[0]["binary"] == item["binary"] and output[0]["binary"] is not item["binary"]
    assert "binary" not in run({"keepOnlySet": True}, [item], 1)[0]


# -- versions 3 to 3.2: fields.values --------------------------------------------------------------
CONVERSION_SOURCE = {
    "string": {"s5": "3", "s7": "3.14", "s8": "TRUE", "s9": "false", "s10": "1", "s11": '["apples", "oranges"]',
               "s13": "[1, 2]", "s14": '{"a": 1, "b": { "c": 10, "d": "test"}}', "s18": "0", "hello": "hello"},
    "number": {"n1": 52472, "n3": 0, "n4": 1.334535, "n7": 1},
    "boolean": {"t": True, "f": False},
    "array": [1, 2, 3, 4],
    "object": {"objKey": 2, "objArray": [1, 2, 3, 4], "objBool": True},
}


def test_v3_converts_to_string():
    params = fields(("a", "stringValue", "={{ $json.number.n1 }}"), ("b", "stringValue", "={{ $json.number.n4 }}"),
                    ("c", "stringValue", "={{ $json.boolean.f }}"), ("d", "stringValue", "={{ $json.array }}"),
                    ("e", "stringValue", "={{ $json.object }}"), include="none")
    assert jsons(run(params, items_of(CONVERSION_SOURCE), 3)) == [{
        "a": "52472", "b": "1.334535", "c": "false", "d": "[1,2,3,4]",
        "e": '{"objKey":2,"objArray":[1,2,3,4],"objBool":true}'}]


def test_v3_converts_to_number_boolean_array_object():
    params = fields(("n1", "numberValue", "={{ $json.string.s5 }}"), ("n2", "numberValue", "={{ $json.string.s7 }}"),
                    ("n3", "numberValue", "={{ $json.boolean.t }}"),
                    ("b1", "booleanValue", "={{ $json.string.s8 }}"), ("b2", "booleanValue", "={{ $json.string.s18 }}"),
                    ("b3", "booleanValue", "={{ $json.number.n7 }}"),
                    ("a1", "arrayValue", "={{ $json.string.s11 }}"), ("a2", "arrayValue", "={{ $json.array }}"),
                    ("o1", "objectValue", "={{ $json.string.s14 }}"), ("o2", "objectValue", "={{ $json.object }}"),
                    include="none")
    assert jsons(run(params, items_of(CONVERSION_SOURCE), 3)) == [{
        "n1": 3, "n2": 3.14, "n3": 1, "b1": True, "b2": False, "b3": True,
        "a1": ["apples", "oranges"], "a2": [1, 2, 3, 4],
        "o1": {"a": 1, "b": {"c": 10, "d": "test"}}, "o2": CONVERSION_SOURCE["object"]}]


def test_v3_object_value_template_is_rendered_as_json_text():
    params = fields(("o", "objectValue", '={ "name": "{{ $json.name }}", "tags": {{ $json.tags }} }'), include="none")
    ctx = FakeContext(Set(), params, items_of({"name": "Ada", "tags": ["x"]}, {"name": "Bo", "tags": []}), 3.2)
    (output,) = Set().execute(ctx)
    assert jsons(output) == [{"o": {"name": "Ada", "tags": ["x"]}}, {"o": {"name": "Bo", "tags": []}}]
    assert ("fields", "={{ $json.name }}") in ctx.expressions.calls


def test_v3_conversion_error_names_field_and_item():
    params = fields(("n", "numberValue", "={{ $json.v }}"), include="none")
    with pytest.raises(NodeError) as raised:
        run(params, items_of({"v": "1"}, {"v": "hello"}), 3)
    assert raised.value.message == "'n' expects a number but we got 'hello' [item 1]"
    assert raised.value.item_index == 1
    assert 'change the type for the field "n"' in raised.value.description


def test_v3_ignore_conversion_errors_keeps_the_value():
    params = fields(("n", "numberValue", "={{ $json.string.hello }}"), ("b", "booleanValue", "3,14"),
                    ("a", "arrayValue", "={{ $json.string.s5 }}"), ("z", "numberValue", " "),
                    include="none", options={"ignoreConversionErrors": True})
    assert jsons(run(params, items_of(CONVERSION_SOURCE), 3)) == [{"n": "hello", "b": "3,14", "a": "3", "z": 0}]


@pytest.mark.parametrize("kind", ["stringValue", "numberValue", "booleanValue", "arrayValue", "objectValue"])
def test_v3_2_null_and_undefined_become_null(kind):
    params = fields(("x", kind, "={{ null }}"), ("y", kind, "={{ $json.missing }}"), include="none",
                    options={"ignoreConversionErrors": True})
    assert jsons(run(params, items_of({}), 3.2)) == [{"x": None, "y": None}]


def test_v3_1_null_string_is_an_error_and_v3_0_writes_null_text():
    params = fields(("x", "stringValue", "={{ null }}"), include="none")
    with pytest.raises(NodeError, match=r"'x' expects a string but we got 'null' \[item 0\]"):
        run(params, items_of({}), 3.1)
    assert jsons(run(params, items_of({}), 3)) == [{"x": "null"}]


def test_v3_defaults_for_missing_type_and_value():
    params = {"fields": {"values": [{"name": "s", "stringValue": "x"}, {"name": "b", "type": "booleanValue"},
                                    {"name": "n", "type": "numberValue"}, {"name": "o", "type": "objectValue"}]},
              "include": "none"}
    assert jsons(run(params, items_of({}), 3.2)) == [{"s": "x", "b": True, "n": 0, "o": {}}]


# -- include modes ---------------------------------------------------------------------------------
ROW = {"a": 1, "b": {"c": 2, "d": 3}, "e": "x"}


@pytest.mark.parametrize("include,extra,expected", [
    ("all", {}, {**ROW, "new": 1}),
    ("none", {}, {"new": 1}),
    ("selected", {"includeFields": "a, b.c"}, {"a": 1, "c": 2, "new": 1}),
    ("except", {"excludeFields": "e,b.d"}, {"a": 1, "b": {"c": 2}, "new": 1}),
])
def test_v3_include_modes(include, extra, expected):
    items = items_of(copy.deepcopy(ROW))
    params = fields(("new", "numberValue", "1"), include=include, **extra)
    assert jsons(run(params, items, 3)) == [expected]
    assert items[0]["json"] == ROW


@pytest.mark.parametrize("include_other,include,extra,expected", [
    (False, "all", {}, {"new": 1}),
    (True, "all", {}, {**ROW, "new": 1}),
    (True, "selected", {"includeFields": "e"}, {"e": "x", "new": 1}),
    (True, "except", {"excludeFields": "b"}, {"a": 1, "e": "x", "new": 1}),
])
def test_v3_3_include_other_fields(include_other, include, extra, expected):
    params = assignments(("new", "number", 1), includeOtherFields=include_other, include=include, **extra)
    assert jsons(run(params, items_of(ROW), 3.3)) == [expected]


def test_nested_writes_copy_only_the_written_path():
    items = items_of({"b": {"c": 2}, "other": {"k": 1}})
    output = run(assignments(("b.n", "number", 5), includeOtherFields=True), items, 3.4)
    out = output[0]["json"]
    assert out == {"b": {"c": 2, "n": 5}, "other": {"k": 1}}
    assert out["other"] is items[0]["json"]["other"]
    assert out["b"] is not items[0]["json"]["b"] and items[0]["json"]["b"] == {"c": 2}


def test_dot_notation_off_in_v3():
    params = assignments(("a.b", "string", "x"), options={"dotNotation": False})
    assert jsons(run(params, items_of({}), 3.3)) == [{"a.b": "x"}]


@pytest.mark.parametrize("version,options,include_other,has_binary", [
    (3.3, {}, True, False), (3.3, {"includeBinary": True}, True, True),
    (3.4, {}, True, True), (3.4, {}, False, False), (3.4, {"stripBinary": True}, True, False),
])
def test_binary_data_rules(version, options, include_other, has_binary):
    item = {"json": {"a": 1}, "binary": {"file": {"mimeType": "text/plain"}}}
    output = run(assignments(("b", "number", 2), includeOtherFields=include_other, options=options), [item], version)
    assert ("binary" in output[0]) is has_binary


# -- version 3.3+: assignments ---------------------------------------------------------------------
def test_v3_3_assignments_convert_types():
    params = assignments(("s", "string", "={{ $json.n }}"), ("n", "number", "={{ $json.s }}"),
                         ("b", "boolean", "false"), ("a", "array", "[1, 2]"), ("o", "object", "{a: 1}"))
    assert jsons(run(params, items_of({"n": 7, "s": "3.5"}), 3.3)) == [
        {"s": "7", "n": 3.5, "b": False, "a": [1, 2], "o": {"a": 1}}]


def test_v3_3_continue_on_fail_puts_the_error_in_the_item():
    params = assignments(("n", "number", "={{ $json.v }}"))
    output = run(params, items_of({"v": 1}, {"v": "x"}), 3.4, continue_on_fail=True)
    assert output[0]["json"] == {"n": 1}
    assert output[1]["json"] == {"error": "'n' expects a number but we got 'x' [item 1]", "pairedItem": {"item": 1}}
    assert output[1]["pairedItem"] == {"item": 1}


@pytest.mark.parametrize("params", [
    assignments(("n", "number", "={{ fail() }}")),
    {"mode": "raw", "jsonOutput": '={"n": {{ fail() }} }'},
])
def test_expression_errors_become_error_items_with_continue_on_fail(params):
    with pytest.raises(ExpressionError):
        run(params, items_of({}), 3.4)
    output = run(params, items_of({}), 3.4, continue_on_fail=True)
    assert output[0]["json"]["error"] == "fail is not defined"


def test_every_output_item_is_paired_with_its_input():
    output = run(assignments(("x", "number", 1)), items_of({}, {}, {}), 3.4)
    assert [item["pairedItem"] for item in output] == [{"item": 0}, {"item": 1}, {"item": 2}]


def test_empty_input_gives_no_items_from_version_3():
    assert run(assignments(("x", "number", 1)), [], 3.4) == []


def test_duplicate_item_only_in_manual_executions():
    params = assignments(("x", "number", 1), duplicateItem=True, duplicateCount=2)
    assert len(run(params, items_of({}), 3.4)) == 3
    assert len(run(params, items_of({}), 3.4, mode="trigger")) == 1


# -- raw mode --------------------------------------------------------------------------------------
def test_raw_mode_parses_json_output():
    params = {"mode": "raw", "jsonOutput": '{"a": 1, "b": [true]}'}
    assert jsons(run(params, items_of({"x": 1}), 3.4)) == [{"a": 1, "b": [True]}]
    params["includeOtherFields"] = True
    assert jsons(run(params, items_of({"x": 1}), 3.4)) == [{"x": 1, "a": 1, "b": [True]}]


def test_raw_mode_template_with_expressions():
    params = {"mode": "raw", "jsonOutput": '={"name": "{{ $json.name }}", "obj": {{ $json.obj }}, "n": {{ $json.n }}}'}
    output = run(params, items_of({"name": "Ada", "obj": {"k": [1]}, "n": 2}), 3.4)
    assert jsons(output) == [{"name": "Ada", "obj": {"k": [1]}, "n": 2}]


def test_raw_mode_repairs_javascript_style_objects():
    params = {"mode": "raw", "jsonOutput": "{a: 'x', b: 2,}"}
    assert jsons(run(params, items_of({}), 3.4)) == [{"a": "x", "b": 2}]


def test_raw_mode_invalid_json_and_non_objects():
    with pytest.raises(NodeError) as raised:
        run({"mode": "raw", "jsonOutput": '{"a": '}, items_of({}), 3.4)
    assert raised.value.message == "The 'JSON Output' in item 0 contains invalid JSON"
    with pytest.raises(NodeError, match="does not contain a valid JSON object"):
        run({"mode": "raw", "jsonOutput": "[1, 2]"}, items_of({}), 3.4)
    output = run({"mode": "raw", "jsonOutput": "nope"}, items_of({}), 3.4, continue_on_fail=True)
    assert output == [{"json": {"error": "The 'JSON Output' in item 0 contains invalid JSON"},
                       "pairedItem": {"item": 0}}]


# -- paths -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,path", [
    ("a.b.c", ("a", "b", "c")), ("a[0].b", ("a", "0", "b")), ("a['b.c']", ("a", "b.c")),
    ('a["x"][1]', ("a", "x", "1")), (".a", ("", "a")), ("a..b", ("a", "", "b")),
])
def test_lodash_paths(text, path):
    assert string_to_path(text) == path


def test_path_creates_arrays_for_index_keys():
    assert jsons(run(assignments(("list[1].name", "string", "x")), items_of({}), 3.4)) == [
        {"list": [None, {"name": "x"}]}]


def test_description_covers_every_version():
    node = Set()
    assert set(node.versions) == {1, 2, 3, 3.1, 3.2, 3.3, 3.4}
    assert node.default_for("include", {}, 3.2) == "all"
    assert node.default_for("includeOtherFields", {}, 3.4) is False
    assert node.default_for("mode", {}, 3.4) == "manual"
