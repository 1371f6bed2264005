"""The Code node, run through a real NodeExecutionContext with the real expression engine and run
data: both modes, legacy syntax, console, immutability, n8n's return-shape rules, errors,
continueOnFail, async code."""
import copy
import time

import pytest

from app.engine.context import CancelToken, ExpressionData, NodeExecutionContext
from app.engine.errors import NodeError
from app.engine.expressions import ExpressionEngine
from app.engine.run_data import DataProxy, NodeRun
from app.engine.workflow import Node
from app.nodes.core.code import Code

ENGINE = ExpressionEngine()
ALL = "runOnceForAllItems"
EACH = "runOnceForEachItem"


def items_of(*jsons):
    return [{"json": dict(j)} for j in jsons]


def run(code, items=None, *, mode=ALL, version=2, on_error="stopWorkflow", run_data=None, source=None,
        engine=ENGINE, language=None):
    """Run a Code node; returns (its output items, its console lines, V8 calls it made)."""
    items = items_of({"value": 1}, {"value": 2}) if items is None else items
    parameters = {"mode": mode, "jsCode": code}
    if language:
        parameters = {"mode": mode, "language": language, "pythonCode": code}
    node = Node(name="Code", type="n8n-nodes-base.code", type_version=version, parameters=parameters,
                on_error=on_error)
    run_data = run_data or {}
    proxy = DataProxy(run_data, node.name, source or [], items, [*run_data, node.name])
    data = ExpressionData(
        node_name=node.name, node_type=node.type, node_parameters=parameters, type_version=version,
        run_index=0, items=items, proxy=proxy, workflow={"id": "wf", "name": "WF", "active": False},
        execution={"id": "1", "mode": "manual", "resumeUrl": None}, prev_node=None, now_ms=0)
    ctx = NodeExecutionContext(node=node, node_type=Code(), inputs=[items], run_index=0, expression_data=data,
                               expression_engine=engine, cancel_token=CancelToken())
    try:
        [output] = Code().execute(ctx)
        return output, ctx.console, ctx.expressions.v8_calls
    finally:
        ctx.close()


def jsons(output):
    return [item["json"] for item in output]


# -- the two modes ---------------------------------------------------------------------------------
def test_run_once_for_all_items():
    output, _, _ = run("let sum = 0;\nfor (const item of $input.all()) sum += item.json.value;\nreturn [{sum}];")
    assert output == [{"json": {"sum": 3}}]


def test_legacy_items_in_all_items_mode():
    output, _, _ = run("let sum = 0;\nfor (const item of items) sum += item.json.value;\nreturn [{sum}];", version=1)
    assert jsons(output) == [{"sum": 3}]


def test_run_once_for_each_item_pairs_each_output_with_its_input():
    output, _, calls = run("$input.item.json.myNewField = $input.item.json.value * 10;\nreturn $input.item;",
                           mode=EACH)
    assert output == [{"json": {"value": 1, "myNewField": 10}, "pairedItem": {"item": 0}},
                      {"json": {"value": 2, "myNewField": 20}, "pairedItem": {"item": 1}}]
    assert calls == 1  # every item in one request: the loop runs inside V8


def test_legacy_item_and_json_in_each_item_mode():
    output, _, _ = run("item.json.double = $json.value * 2;\nreturn item;", mode=EACH)
    assert jsons(output) == [{"value": 1, "double": 2}, {"value": 2, "double": 4}]


def test_implicit_globals_work_and_do_not_survive_the_run():
    output, _, _ = run("for (entry of items) { entry.json.seen = true }\nreturn items;")
    assert jsons(output) == [{"value": 1, "seen": True}, {"value": 2, "seen": True}]
    output, _, _ = run("return [{json: {type: typeof entry}}];")
    assert jsons(output) == [{"type": "undefined"}]


def test_workflow_variables_are_available():
    run_data = {"Start": [NodeRun(start_time=0, source=[], outputs=[items_of({"name": "first"})])]}
    source = [{"previousNode": "Start", "previousNodeOutput": 0, "previousNodeRun": 0}]
    items = [{"json": {"v": 1}, "pairedItem": {"item": 0}}]
    code = ("return [{json: {name: $('Start').first().json.name, legacy: $node['Start'].json.name,\n"
            "  all: $items('Start').length, paired: $('Start').item.json.name, wf: $workflow.name,\n"
            "  now: $now.toUTC().toISO(), q: $jmespath({a: {b: 2}}, 'a.b'), d: DateTime.fromMillis(0).toUTC().year}}];")
    output, _, _ = run(code, items, run_data=run_data, source=source)
    assert jsons(output) == [{"name": "first", "legacy": "first", "all": 1, "paired": "first", "wf": "WF",
                              "now": "1970-01-01T00:00:00.000Z", "q": 2, "d": 1970}]


def test_console_log_is_captured():
    _, console, _ = run("console.log('hello', 1, {a: [1]});\nconsole.info(null);\nreturn [];")
    assert console == ['hello 1 {"a":[1]}', "null"]


def test_input_items_are_never_changed():
    items = items_of({"value": 1, "nested": {"x": 1}})
    before = copy.deepcopy(items)
    output, _, _ = run("for (const item of $input.all()) { item.json.value = 99; item.json.nested.x = 2; }\n"
                       "return $input.all();", items)
    assert items == before
    assert jsons(output) == [{"value": 99, "nested": {"x": 2}}]
    assert output[0]["json"] is not items[0]["json"]


def test_async_code_with_await_and_timers():
    code = ("const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));\n"
            "const order = [];\nsetTimeout(() => order.push('late'), 50);\nawait wait(10);\norder.push('early');\n"
            "await wait(100);\nreturn [{json: {order}}];")
    started = time.monotonic()
    output, _, _ = run(code)
    assert jsons(output) == [{"order": ["early", "late"]}]
    assert time.monotonic() - started < 2  # time does not pass in the sandbox


def test_a_returned_promise_is_awaited():
    code = ("for (const item of $input.all()) { item.json.field = 2 }\n"
            "return new Promise((resolve) => setTimeout(() => resolve($input.all()), 100));")
    output, _, _ = run(code)
    assert jsons(output) == [{"value": 1, "field": 2}, {"value": 2, "field": 2}]


def test_async_code_in_each_item_mode():
    output, _, _ = run("await null;\nreturn {json: {i: $itemIndex}};", mode=EACH)
    assert output == [{"json": {"i": 0}, "pairedItem": {"item": 0}}, {"json": {"i": 1}, "pairedItem": {"item": 1}}]


def test_dates_and_class_instances_in_output():
    code = "class Point { constructor() { this.x = 1 } }\nreturn [{json: {d: new Date(0), p: new Point()}}];"
    output, _, _ = run(code)
    assert jsons(output) == [{"d": "1970-01-01T00:00:00.000Z", "p": '{"x":1}'}]


# -- return values n8n accepts and refuses -----------------------------------------------------------
@pytest.mark.parametrize("code, expected", [
    ("return [{a: 1}, {b: 2}];", [{"json": {"a": 1}}, {"json": {"b": 2}}]),
    ("return {a: 1};", [{"json": {"a": 1}}]),
    ("return {json: {a: 1}};", [{"json": {"a": 1}}]),
    ("return null;", []),
    ("return [{json: {a: 1}, binary: {f: {data: 'QQ=='}}}];", [{"json": {"a": 1}, "binary": {"f": {"data": "QQ=="}}}]),
])
def test_all_items_return_values_are_normalised(code, expected):
    output, _, _ = run(code, items_of({}, {}, {}))
    assert output == expected


@pytest.mark.parametrize("code, message, description", [
    ('return {json: "test"};', "A 'json' property isn't an object [item 0]", "must point to an object"),
    ("return 5;", "Code doesn't return items properly", "Please return an array of objects"),
    ("return;", "Code doesn't return items properly", "Please return an array of objects"),
    ("return [1];", "Code doesn't return items properly", "Please return an array of objects"),
    ("return [{json: {}, other: 1}];", "Invalid output format [item 0]", "reserved key <code>json</code>"),
    ("return [{json: {}}, {binary: {}}];", "Inconsistent item format", None),
    ("return [{json: {}, binary: 'x'}];", "A 'binary' property isn't an object [item 0]", None),
])
def test_all_items_wrong_return_values(code, message, description):
    with pytest.raises(NodeError) as caught:
        run(code)
    assert caught.value.message == message
    if description:
        assert description in caught.value.description


@pytest.mark.parametrize("code, message, description", [
    ("return [{json: {}}];", "Code doesn't return a single object [item 0]",
     "An array of objects was returned. If you need to output multiple items, please use the 'Run Once for All "
     "Items' mode instead."),
    ("return [];", "Code doesn't return a single object [item 0]", "An empty array was returned."),
    ("return 'x';", "Code doesn't return an object [item 0]",
     "Please return an object representing the output item. ('x' was returned instead.)"),
    ("return;", "Code doesn't return an object [item 0]", "('undefined' was returned instead.)"),
    ("return {json: {}, extra: 1};", "Invalid output format [item 0]", "reserved key"),
])
def test_each_item_wrong_return_values(code, message, description):
    with pytest.raises(NodeError) as caught:
        run(code, mode=EACH)
    assert caught.value.message == message
    assert description in caught.value.description


def test_each_item_null_drops_the_item():
    output, _, _ = run("return $json.value === 1 ? null : {json: $json};", mode=EACH)
    assert output == [{"json": {"value": 2}, "pairedItem": {"item": 1}}]


def test_each_item_code_may_not_use_all_items_methods():
    with pytest.raises(NodeError) as caught:
        run("// $input.first() in a comment is fine\nconst first = $input.first();\nreturn first;", mode=EACH)
    assert caught.value.message == "Can't use .first() here [line 2, for item 0]"


# -- errors ------------------------------------------------------------------------------------------
def test_user_errors_carry_the_line_number():
    with pytest.raises(NodeError) as caught:
        run("const a = 1;\nthrow new Error('boom');")
    assert caught.value.message == "boom [line 2]"
    assert caught.value.node == "Code"


def test_user_errors_in_each_item_mode_name_the_item_and_their_type():
    with pytest.raises(NodeError) as caught:
        run("if ($json.value === 2) {\n  null.x;\n}\nreturn {json: {}};", mode=EACH)
    assert caught.value.message == "Cannot read properties of null (reading 'x') [line 2, for item 1]"
    assert caught.value.description == "TypeError"
    assert caught.value.item_index == 1


def test_syntax_errors_carry_the_line_number():
    with pytest.raises(NodeError) as caught:
        run("const a = 1;\nconst = 2;\nreturn [];")
    assert caught.value.message.endswith("[line 2]")


def test_hint_for_legacy_names_in_the_wrong_mode():
    with pytest.raises(NodeError, match=r"`item` is not defined. Did you mean `\$input.item.json`\?"):
        run("return [item];")


def test_continue_on_fail_all_items():
    output, _, _ = run("throw new Error('boom');", on_error="continueRegularOutput")
    assert output == [{"json": {"error": "boom [line 1]"}}]


def test_continue_on_fail_each_item_keeps_going():
    code = "if ($json.value === 1) throw new Error('bad ' + $itemIndex);\nreturn {json: {ok: $json.value}};"
    output, _, _ = run(code, items_of({"value": 1}, {"value": 2}), mode=EACH, on_error="continueRegularOutput")
    assert output == [{"json": {"error": "bad 0 [line 1, for item 0]"}, "pairedItem": {"item": 0}},
                      {"json": {"ok": 2}, "pairedItem": {"item": 1}}]


def test_without_continue_on_fail_each_item_stops_at_the_first_error():
    code = "console.log('item', $itemIndex);\nif ($itemIndex === 0) throw new Error('stop');\nreturn {json: {}};"
    with pytest.raises(NodeError, match="stop"):
        run(code, mode=EACH)


def test_runaway_code_is_stopped():
    with pytest.raises(NodeError, match="timed out"):
        run("while (true) {}", engine=ExpressionEngine(time_limit_s=0.5))


def test_sandbox_escapes_are_refused():
    with pytest.raises(NodeError, match="Code generation from strings"):
        run("return [{json: {p: this.constructor.constructor('return process')()}}];")
    with pytest.raises(NodeError, match="Cannot find module 'fs'"):
        run("const fs = require('fs');\nreturn [];")
    output, _, _ = run("return [{json: {p: typeof process, g: typeof globalThis.process}}];")
    assert jsons(output) == [{"p": "undefined", "g": "undefined"}]


# -- Python ------------------------------------------------------------------------------------------
def test_python_code_runs_in_the_python_runner():
    code = "total = sum(item['json']['value'] for item in _items)\nprint('total', total)\nreturn [{'json': {'total': total}}]"
    output, console, _ = run(code, language="pythonNative")
    assert jsons(output) == [{"total": 3}]
    assert console == ["total 3"]


def test_python_errors_with_continue_on_fail():
    output, _, _ = run("raise ValueError('nope')", language="python", on_error="continueRegularOutput")
    assert len(output) == 1 and "nope" in output[0]["json"]["error"]


def test_description_follows_n8n():
    node = Code()
    assert node.type == "code" and node.versions == (1, 2) and node.group == "transform" and node.icon == "code"
    assert node.default_for("language", {}, 1) == "javaScript"
    assert node.default_for("jsCode", {"mode": EACH, "language": "javaScript"}, 2) == ""
    samples = {prop.placeholder for prop in node.properties if prop.name == "jsCode"}
    assert any("$input.item" in sample for sample in samples) and any("$input.all()" in s for s in samples)


def test_output_json_cannot_hold_fails_its_run():
    code = "return $json.value === 2 ? {json: {big: 10n}} : {json: {ok: $itemIndex}};"
    output, _, _ = run(code, items_of({"value": 1}, {"value": 2}, {"value": 3}), mode=EACH,
                       on_error="continueRegularOutput")
    assert output[0] == {"json": {"ok": 0}, "pairedItem": {"item": 0}}
    assert output[1]["pairedItem"] == {"item": 1} and "BigInt" in output[1]["json"]["error"]
    assert output[2] == {"json": {"ok": 2}, "pairedItem": {"item": 2}}
    with pytest.raises(NodeError, match=r"(?s)circular.*\[item 1\]"):
        run("const a = {}; a.a = a;\nreturn [{json: {}}, {json: a}];")


def test_continue_on_fail_keeps_failed_runs_in_place():
    code = "if ($itemIndex % 2) throw new Error('odd');\nreturn {json: {i: $itemIndex}};"
    output, _, _ = run(code, items_of(*({} for _ in range(5))), mode=EACH, on_error="continueRegularOutput")
    assert [item.get("json") for item in output] == [
        {"i": 0}, {"error": "odd [line 1, for item 1]"}, {"i": 2}, {"error": "odd [line 1, for item 3]"}, {"i": 4}]
    assert [item["pairedItem"]["item"] for item in output] == [0, 1, 2, 3, 4]


def test_other_nodes_parameters_through_a_real_run():
    from app.engine.execute import run_workflow
    from app.nodes import load_all

    load_all()
    workflow = {"name": "params", "settings": {"executionOrder": "v1"}, "connections": {
        "Start": {"main": [[{"node": "Js", "type": "main", "index": 0}]]}}, "nodes": [
        {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "position": [0, 0],
         "parameters": {"note": "hello"}},
        {"name": "Js", "type": "n8n-nodes-base.code", "typeVersion": 2, "position": [200, 0],
         "parameters": {"jsCode": "return [{json: {p: $('Start').params, n: $node['Start'].parameter.note}}]"}},
    ]}
    result = run_workflow(workflow)
    assert result.status == "success", result.error
    assert result.run_data["Js"][0].outputs[0][0]["json"] == {"p": {"note": "hello"}, "n": "hello"}
