"""Flow nodes run through the real engine: Loop Over Items (Split In Batches), Merge, Execute
Workflow with its trigger and the legacy Start node, and the training Customer Datastore."""
import json
import logging
import threading

import pytest

from app.engine.execute import run_workflow
from app.nodes import load_all
from app.nodes.core.merge import Merge
from app.nodes.core.n8n_training_customer_datastore import PEOPLE


@pytest.fixture(scope="module", autouse=True)
def nodes():
    load_all()


# -- building workflows ----------------------------------------------------------------------------
def node(name, type_, version=1, position=(0, 0), **parameters):
    extra = parameters.pop("_extra", {})
    return {"name": name, "type": f"n8n-nodes-base.{type_}", "typeVersion": version,
            "position": list(position), "parameters": parameters, **extra}


def workflow(nodes, links, order="v1", pin=None, name="test"):
    """`links`: (source, output, target, input) tuples."""
    connections = {}
    for source, output, target, target_input in links:
        outputs = connections.setdefault(source, {"main": []})["main"]
        while len(outputs) <= output:
            outputs.append([])
        outputs[output].append({"node": target, "type": "main", "index": target_input})
    settings = {"executionOrder": order} if order == "v1" else {}
    return {"name": name, "nodes": nodes, "connections": connections, "settings": settings,
            "pinData": {key: [{"json": row} for row in rows] for key, rows in (pin or {}).items()}}


def rows(*values):
    return [{"json": value} for value in values]


def jsons(result, name, run=-1, output=0):
    runs = result.run_data[name]
    outputs = runs[run].outputs
    return [item["json"] for item in outputs[output] or []]


def run_count(result, name):
    return len(result.run_data.get(name, []))


def ok(result):
    assert result.status == "success", result.error
    return result


TRIGGER = node("Trigger", "manualTrigger")


# -- Split In Batches / Loop Over Items --------------------------------------------------------------
def loop_workflow(version, batch_size, order, options=None):
    loop = node("Loop", "splitInBatches", version, (200, 0), batchSize=batch_size, options=options or {})
    body, done = node("Body", "noOp", position=(400, 100)), node("Done", "noOp", position=(400, -100))
    loop_output, done_output = {1: (0, None), 2: (0, 1), 3: (1, 0)}[int(version)]
    links = [("Trigger", 0, "Loop", 0), ("Loop", loop_output, "Body", 0), ("Body", 0, "Loop", 0)]
    if done_output is not None:
        links.append(("Loop", done_output, "Done", 0))
    return workflow([TRIGGER, loop, body, done], links, order)


NUMBERS = rows(*({"n": n} for n in range(5)))


def test_v1_hands_out_batches_until_nothing_is_left_and_ends_its_branch():
    result = ok(run_workflow(loop_workflow(1, 2, "v0"), start_data=NUMBERS))
    assert [jsons(result, "Body", run) for run in range(3)] == [
        [{"n": 0}, {"n": 1}], [{"n": 2}, {"n": 3}], [{"n": 4}]]
    # The fourth run has nothing left: it returns no data, which n8n records as no run at all.
    assert run_count(result, "Loop") == 3
    assert "Done" not in result.run_data


@pytest.mark.parametrize("version", [2, 3])
def test_v2_and_v3_emit_batches_on_loop_and_everything_that_came_back_on_done(version):
    result = ok(run_workflow(loop_workflow(version, 2, "v1"), start_data=NUMBERS))
    assert run_count(result, "Body") == 3
    assert jsons(result, "Done") == [{"n": n} for n in range(5)]
    loop_output, done_output = (0, 1) if version == 2 else (1, 0)
    last = result.run_data["Loop"][-1].outputs
    assert last[loop_output] == [] and len(last[done_output]) == 5


def test_batch_size_larger_than_the_input():
    result = ok(run_workflow(loop_workflow(3, 10, "v1"), start_data=NUMBERS[:3]))
    assert run_count(result, "Body") == 1
    assert jsons(result, "Done") == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_v3_in_v0_order_and_a_fractional_batch_size_from_an_expression():
    result = ok(run_workflow(loop_workflow(3, "={{ 1.5 + 1 }}", "v0"), start_data=NUMBERS))
    assert [len(jsons(result, "Body", run)) for run in range(3)] == [2, 2, 1]
    assert len(jsons(result, "Done")) == 5


def test_a_batch_size_below_one_is_an_error():
    result = run_workflow(loop_workflow(3, 0, "v1"), start_data=NUMBERS)
    assert result.status == "error"
    assert "batch size" in result.error["message"] and result.error["node"] == "Loop"


def test_the_state_uses_n8n_context_names_and_later_batches_keep_their_lineage():
    """Items of later batches still pair with the loop's original input (sourceOverwrite), so
    `$('Trigger').item` works inside the loop."""
    wf = loop_workflow(3, 1, "v1")
    wf["nodes"][2] = node("Body", "set", 1, (400, 100), keepOnlySet=True,
                          values={"string": [{"name": "name", "value": "={{ $('Trigger').item.json.name }}"}]})
    result = ok(run_workflow(wf, start_data=rows({"name": "a"}, {"name": "b"}, {"name": "c"})))
    assert [jsons(result, "Body", run) for run in range(3)] == [[{"name": "a"}], [{"name": "b"}], [{"name": "c"}]]
    later = result.run_data["Loop"][1].outputs[1][0]["pairedItem"]
    assert later["sourceOverwrite"] == {"previousNode": "Trigger", "previousNodeOutput": 0, "previousNodeRun": 0}


class LoopContext:
    """The part of NodeExecutionContext Split In Batches uses, for driving single runs."""

    def __init__(self, version, state, items, options=None, source=None):
        from app.nodes.core.split_in_batches import SplitInBatches

        self.node_type = SplitInBatches()
        self.type_version = version
        self.node_state = state
        self._items = items
        self._params = {"batchSize": 2, "options": options or {}}
        self._source = source

    def input_items(self, index=0):
        return self._items

    def input_source(self, index=0):
        return self._source

    def get_param(self, name, index=0):
        return self._params[name]

    def error(self, message, item_index=None, description=None):
        from app.engine.errors import NodeError

        return NodeError(message)


def execute_loop(ctx):
    return ctx.node_type.execute(ctx)


def test_reset_starts_over_with_the_current_input():
    state = {}
    execute_loop(LoopContext(2, state, rows({"n": 1}, {"n": 2}, {"n": 3})))
    assert state["currentRunIndex"] == 0 and state["maxRunIndex"] == 2 and state["noItemsLeft"] is False
    outputs = execute_loop(LoopContext(2, state, rows({"n": 9}), options={"reset": True}))
    assert [item["json"] for item in outputs[0]] == [{"n": 9}]
    assert state["items"] == [] and state["processedItems"] == [] and state["noItemsLeft"] is True
    # Only a real `true` resets, as in n8n (`=== true`).
    execute_loop(LoopContext(2, state, rows({"n": 5}, {"n": 6}, {"n": 7}), options={"reset": True}))
    outputs = execute_loop(LoopContext(2, state, rows({"x": 1}), options={"reset": "true"}))
    assert [item["json"] for item in outputs[0]] == [{"n": 7}]


@pytest.mark.parametrize("version, after_last_batch", [(2, True), (2.1, False), (3, True)])
def test_no_items_left_is_set_after_the_last_batch_or_in_2_1_only_when_done(version, after_last_batch):
    state = {}
    execute_loop(LoopContext(version, state, rows({"n": 1}, {"n": 2})))
    assert state["noItemsLeft"] is after_last_batch
    execute_loop(LoopContext(version, state, rows({"n": 1})))
    assert state["noItemsLeft"] is True and state["done"] is True


def test_a_finished_loop_starts_over_when_an_outer_loop_hands_in_new_items():
    state = {}
    execute_loop(LoopContext(3, state, rows({"child": 1})))
    done, loop = execute_loop(LoopContext(3, state, rows({"child": 1, "processed": True})))
    assert state["done"] is True and loop == [] and [item["json"] for item in done] == [
        {"child": 1, "processed": True}]
    done, loop = execute_loop(LoopContext(3, state, rows({"child": 2})))
    assert done == [] and [item["json"] for item in loop] == [{"child": 2}]
    assert state["processedItems"] == [] and state["done"] is False
    # Version 1 has no "done": new items after the end are just returned items.
    state = {}
    execute_loop(LoopContext(1, state, rows({"n": 1})))
    assert execute_loop(LoopContext(1, state, rows({"n": 2}))) is None


# -- Merge -----------------------------------------------------------------------------------------
def merge_workflow(version, parameters, first, second, order="v1", inputs=2):
    """Trigger → A, B (, C) → Merge → Out; the sources are pinned No-Ops."""
    sources = ["A", "B", "C"][:inputs]
    nodes = [TRIGGER, node("Merge", "merge", version, (400, 0), **parameters), node("Out", "noOp", position=(600, 0))]
    links = [("Merge", 0, "Out", 0)]
    pin = {}
    for index, (name, data) in enumerate(zip(sources, [first, second, *([first] if inputs > 2 else [])])):
        nodes.append(node(name, "noOp", position=(200, index * 100)))
        links += [("Trigger", 0, name, 0), (name, 0, "Merge", index)]
        pin[name] = data
    return workflow(nodes, links, order, pin)


def merged(version, parameters, first, second, **kwargs):
    return jsons(ok(run_workflow(merge_workflow(version, parameters, first, second, **kwargs))), "Merge")


LEFT = [{"id": 1, "data": "a", "text": "foo"}, {"id": 2, "data": "b", "text": "foo"}]
RIGHT = [{"id": 1, "data": "c", "tag": "x"}, {"id": 2, "data": "d", "tag": "x"}, {"id": 3, "data": "e", "tag": "x"}]
BY_ID = {"values": [{"field1": "id", "field2": "id"}]}


@pytest.mark.parametrize("version", [1, 2, 2.1, 3])
def test_append(version):
    assert merged(version, {"mode": "append"}, LEFT, RIGHT) == LEFT + RIGHT


def empty_input_workflow(version, parameters, order):
    """Input 2 gets no items: an If sends everything to its true output (input 1)."""
    condition = {"boolean": [{"value1": True, "value2": True}]}
    nodes = [TRIGGER, node("If", "if", 1, (200, 0), conditions=condition),
             node("Merge", "merge", version, (400, 0), **parameters)]
    return workflow(nodes, [("Trigger", 0, "If", 0), ("If", 0, "Merge", 0), ("If", 1, "Merge", 1)], order)


@pytest.mark.parametrize("order", ["v0", "v1"])
@pytest.mark.parametrize("version", [1, 2])
def test_merge_runs_with_one_empty_input(version, order):
    result = ok(run_workflow(empty_input_workflow(version, {"mode": "append"}, order), start_data=rows({"a": 1})))
    assert jsons(result, "Merge") == [{"a": 1}]
    # v0 delivers the empty output to input 2; v1 releases the waiting Merge at the end without it.
    second_source = result.run_data["Merge"][0].source[1]
    assert (second_source is not None) == (order == "v0")


def test_choose_branch_declares_both_inputs_required():
    merge = Merge()
    choose = type("Node", (), {"type_version": 2, "parameters": {"mode": "chooseBranch"}})
    append = type("Node", (), {"type_version": 3, "parameters": {}})
    legacy = type("Node", (), {"type_version": 1, "parameters": {"mode": "wait"}})
    assert merge.required_inputs_for(choose) == [0, 1]
    assert merge.required_inputs_for(append) == 1
    assert merge.required_inputs_for(legacy) is None


def test_v1_merge_by_key_and_key_matches():
    first = [{"id": 1, "a": "x"}, {"id": 2, "a": "y"}, {"other": 1}, {"id": [1]}]
    second = [{"key": 1, "b": "one", "a": ""}, {"key": "3", "b": "three"}, {"key": 0, "b": "zero"}]
    keys = {"propertyName1": "id", "propertyName2": "key"}
    assert merged(1, {"mode": "mergeByKey", **keys}, first, second) == [
        {"id": 1, "a": "", "b": "one"}, {"id": 2, "a": "y"}]
    assert merged(1, {"mode": "mergeByKey", "overwrite": "blank", **keys}, first, second) == [
        {"id": 1, "a": "x", "b": "one"}, {"id": 2, "a": "y"}]
    assert merged(1, {"mode": "keepKeyMatches", **keys}, first, second) == [{"id": 1, "a": "x"}]
    assert merged(1, {"mode": "removeKeyMatches", **keys}, first, second) == [
        {"id": 2, "a": "y"}, {"other": 1}, {"id": [1]}]


def test_v1_merge_by_index_joins_and_the_other_modes():
    first, second = [{"a": 1}, {"a": 2}], [{"b": 1}]
    assert merged(1, {"mode": "mergeByIndex"}, first, second) == [{"a": 1, "b": 1}, {"a": 2}]
    assert merged(1, {"mode": "mergeByIndex", "join": "inner"}, first, second) == [{"a": 1, "b": 1}]
    assert merged(1, {"mode": "mergeByIndex", "join": "outer"}, second, first) == [{"b": 1, "a": 1}, {"a": 2}]
    assert merged(1, {"mode": "multiplex"}, first, second) == [{"a": 1, "b": 1}, {"a": 2, "b": 1}]
    assert merged(1, {"mode": "passThrough", "output": "input2"}, first, second) == second
    result = ok(run_workflow(merge_workflow(1, {"mode": "wait"}, first, second)))
    assert jsons(result, "Merge") == [{}]
    assert result.run_data["Merge"][0].outputs[0][0]["pairedItem"] == [{"item": 0}, {"item": 1}]


def by_fields(version=2, **parameters):
    return {"mode": "combine", "mergeByFields": BY_ID, "options": {}, **parameters} if version < 3 else \
        {"mode": "combine", "combineBy": "combineByFields", "fieldsToMatchString": "id", **parameters}


@pytest.mark.parametrize("version", [2, 3])
def test_combine_by_fields(version):
    matched = [{"id": 1, "data": "c", "text": "foo", "tag": "x"}, {"id": 2, "data": "d", "text": "foo", "tag": "x"}]
    assert merged(version, by_fields(version), LEFT, RIGHT) == matched
    assert merged(version, by_fields(version, joinMode="keepEverything"), LEFT, RIGHT) == matched + [RIGHT[2]]
    assert merged(version, by_fields(version, joinMode="enrichInput1"), LEFT, RIGHT) == matched
    # Enriching input 2 prefers input 1's values where both have a field.
    assert merged(version, by_fields(version, joinMode="enrichInput2"), LEFT, RIGHT) == [
        {"id": 1, "data": "a", "tag": "x", "text": "foo"}, {"id": 2, "data": "b", "tag": "x", "text": "foo"}, RIGHT[2]]
    assert merged(version, by_fields(version, joinMode="keepNonMatches"), LEFT, RIGHT) == [
        {**RIGHT[2], "_source": "input2"}]
    assert merged(version, by_fields(version, outputDataFrom="input2"), LEFT, RIGHT) == RIGHT[:2]
    suffixed = merged(version, by_fields(version, options={"clashHandling": {"values": {"resolveClash": "addSuffix"}}}),
                      LEFT[:1], RIGHT[:1])
    assert suffixed == [{"id_1": 1, "data_1": "a", "text_1": "foo", "id_2": 1, "data_2": "c", "tag_2": "x"}]


def test_combine_by_fields_deep_merges_fuzzy_compares_and_checks_its_fields():
    first = [{"id": "1", "deep": {"a": 1, "list": [1, 2, 3]}}]
    second = [{"id": 1, "deep": {"b": 2, "list": [9]}}]
    assert merged(2.1, by_fields(), first, second) == []
    assert merged(2.1, by_fields(options={"fuzzyCompare": True}), first, second) == [
        {"id": 1, "deep": {"a": 1, "b": 2, "list": [9, 2, 3]}}]
    result = run_workflow(merge_workflow(2, by_fields(mergeByFields={"values": [{"field1": "id", "field2": "no"}]}),
                                         first, second))
    assert result.status == "error"
    assert result.error["message"] == "Field 'no' is not present in any of items in 'Input 2'"
    result = run_workflow(merge_workflow(3, by_fields(3, fieldsToMatchString=""), first, second))
    assert result.error["message"] == 'You need to define at least one pair of fields in "Fields to Match" to match on'


def test_combine_by_position_and_multiplex_v2():
    position = {"mode": "combine", "combinationMode": "mergeByPosition"}
    assert merged(2, position, LEFT, RIGHT) == [{**LEFT[0], **RIGHT[0]}, {**LEFT[1], **RIGHT[1]}]
    assert merged(2, {**position, "options": {"includeUnpaired": True, "clashHandling": {
        "values": {"resolveClash": "preferInput1"}}}}, LEFT, RIGHT) == [
        {**RIGHT[0], **LEFT[0]}, {**RIGHT[1], **LEFT[1]}, RIGHT[2]]
    multiplex = merged(2, {"mode": "combine", "combinationMode": "multiplex"}, LEFT, RIGHT[:2])
    assert multiplex == [{**a, **b} for a in LEFT for b in RIGHT[:2]]


def test_choose_branch_v2_and_v3():
    assert merged(2, {"mode": "chooseBranch", "output": "input2"}, LEFT, RIGHT) == RIGHT
    assert merged(3, {"mode": "chooseBranch", "useDataOfInput": 2}, LEFT, RIGHT) == RIGHT
    result = ok(run_workflow(merge_workflow(2, {"mode": "chooseBranch", "output": "empty"}, LEFT, RIGHT[:1])))
    assert jsons(result, "Merge") == [{}]
    assert result.run_data["Merge"][0].outputs[0][0]["pairedItem"] == [
        {"item": 0}, {"item": 1}, {"item": 0, "input": 1}]
    result = run_workflow(merge_workflow(3, {"mode": "chooseBranch", "useDataOfInput": 3}, LEFT, RIGHT))
    assert result.error["message"] == "Input 3 doesn't exist"


def test_v3_with_three_inputs():
    three = {"numberInputs": 3}
    result = ok(run_workflow(merge_workflow(3, {"mode": "append", **three}, LEFT, RIGHT, inputs=3)))
    assert jsons(result, "Merge") == LEFT + RIGHT + LEFT
    position = {"mode": "combine", "combineBy": "combineByPosition", **three}
    result = ok(run_workflow(merge_workflow(3, position, LEFT, RIGHT, inputs=3)))
    # The last input (here a copy of the first) wins clashes by default.
    assert jsons(result, "Merge") == [{**RIGHT[0], **LEFT[0]}, {**RIGHT[1], **LEFT[1]}]
    prefer_first = {**position, "options": {"clashHandling": {"values": {"resolveClash": "preferInput1"}}}}
    result = ok(run_workflow(merge_workflow(3, prefer_first, RIGHT, LEFT, inputs=3)))
    assert jsons(result, "Merge")[0]["data"] == "c"


def test_v3_combine_all_and_the_unsupported_sql_mode():
    combined = merged(3, {"mode": "combine", "combineBy": "combineAll", "options": {}}, LEFT, RIGHT[:1])
    assert combined == [{**LEFT[0], **RIGHT[0]}, {**LEFT[1], **RIGHT[0]}]
    result = run_workflow(merge_workflow(3, {"mode": "combineBySql"}, LEFT, RIGHT))
    assert result.status == "error" and "not supported" in result.error["message"]


def test_expressions_after_a_merge_find_items_of_either_input():
    wf = merge_workflow(2, by_fields(), LEFT, RIGHT)
    wf["nodes"][2] = node("Out", "set", 1, (600, 0), keepOnlySet=True, values={"string": [
        {"name": "left", "value": "={{ $('A').item.json.data }}"},
        {"name": "right", "value": "={{ $('B').item.json.data }}"}]})
    result = ok(run_workflow(wf))
    assert jsons(result, "Out") == [{"left": "a", "right": "c"}, {"left": "b", "right": "d"}]


# -- Execute Workflow ------------------------------------------------------------------------------
def sub_workflow(*extra_nodes, trigger="executeWorkflowTrigger", links=None, name="child"):
    """Trigger → Tag (adds `seen: true`) by default."""
    nodes = [node("Called", trigger), *extra_nodes] if trigger else list(extra_nodes)
    if not extra_nodes:
        nodes.append(node("Tag", "set", 1, (200, 0), values={"boolean": [{"name": "seen", "value": True}]}))
        links = [("Called", 0, "Tag", 0)]
    return workflow(nodes, links or [], "v1", name=name)


def caller(version=1, mode="once", options=None, order="v1", **parameters):
    execute = node("Run child", "executeWorkflow", version, (200, 0), mode=mode, options=options or {}, **parameters)
    return workflow([TRIGGER, execute], [("Trigger", 0, "Run child", 0)], order)


def test_parameter_source_runs_the_child_and_outputs_its_last_node():
    wf = caller(source="parameter", workflowJson=json.dumps(sub_workflow()))
    result = ok(run_workflow(wf, start_data=rows({"n": 1}, {"n": 2})))
    assert jsons(result, "Run child") == [{"n": 1, "seen": True}, {"n": 2, "seen": True}]
    assert [item["pairedItem"] for item in result.run_data["Run child"][0].outputs[0]] == [{"item": 0}, {"item": 1}]


def test_a_sub_workflow_without_trigger_starts_at_its_legacy_start_node():
    child = sub_workflow(node("Start", "start"), node("Copy", "set", 1, (200, 0), keepOnlySet=True, values={
        "string": [{"name": "copy", "value": "={{ $('Start').item.json.n }}"}]}),
        trigger=None, links=[("Start", 0, "Copy", 0)])
    result = ok(run_workflow(caller(source="parameter", workflowJson=json.dumps(child)), start_data=rows({"n": 7})))
    assert jsons(result, "Run child") == [{"copy": 7}]


def test_workflow_json_built_by_an_expression():
    child = sub_workflow(node("Double", "set", 1, (200, 0), keepOnlySet=True, values={
        "number": [{"name": "double", "value": "DOUBLE"}]}), links=[("Called", 0, "Double", 0)])
    # The child's JSON as a JavaScript literal; "}}" would end the expression early.
    literal = json.dumps(child, separators=(", ", ": ")).replace('"DOUBLE"', "$json.n * 2")
    while "}}" in literal or "{{" in literal:
        literal = literal.replace("}}", "} }").replace("{{", "{ {")
    wf = caller(source="parameter", workflowJson="={{ JSON.stringify(" + literal + ") }}")
    assert jsons(ok(run_workflow(wf, start_data=rows({"n": 7}))), "Run child") == [{"double": 14}]


def test_each_mode_runs_once_per_item():
    child = sub_workflow(node("Count", "set", 1, (200, 0), keepOnlySet=True, values={
        "number": [{"name": "items", "value": "={{ $input.all().length }}"}]}), links=[("Called", 0, "Count", 0)])
    result = ok(run_workflow(caller(mode="each", source="parameter", workflowJson=json.dumps(child)),
                             start_data=rows({"n": 1}, {"n": 2})))
    assert jsons(result, "Run child") == [{"items": 1}, {"items": 1}]
    assert [item["pairedItem"] for item in result.run_data["Run child"][0].outputs[0]] == [{"item": 0}, {"item": 1}]


def test_database_source_loads_through_the_runner_and_reports_a_missing_workflow():
    stored = {"42": {**sub_workflow(), "id": "42"}}
    wf = caller(source="database", workflowId="42")
    assert jsons(ok(run_workflow(wf, workflow_loader=stored.get)), "Run child") == [{"seen": True}]
    locator = caller(1.2, source="database", workflowId={"__rl": True, "value": "42", "mode": "id"},
                     workflowInputs={"mappingMode": "defineBelow", "value": {"extra": "={{ 40 + 2 }}"}, "schema": []})
    assert jsons(ok(run_workflow(locator, workflow_loader=stored.get)), "Run child") == [{"extra": 42, "seen": True}]
    missing = run_workflow(caller(source="database", workflowId="7"), workflow_loader=stored.get)
    assert missing.status == "error" and missing.error["message"] == "Workflow does not exist."


def test_local_file_source(tmp_path):
    path = tmp_path / "child.json"
    path.write_text(json.dumps(sub_workflow()))
    assert jsons(ok(run_workflow(caller(source="localFile", workflowPath=str(path)))), "Run child") == [{"seen": True}]
    missing = run_workflow(caller(source="localFile", workflowPath=str(tmp_path / "nope.json")))
    assert missing.error["message"] == f'The file "{tmp_path / "nope.json"}" could not be found, [item 0]'


def test_url_source_and_a_workflow_without_a_start_node_fail_clearly():
    url = run_workflow(caller(source="url", workflowUrl="https://example.com/wf.json"))
    assert url.status == "error" and "URL is not supported" in url.error["message"]
    no_start = sub_workflow(node("Lonely", "noOp"), trigger=None)
    result = run_workflow(caller(source="parameter", workflowJson=json.dumps(no_start)))
    assert result.error["message"] == "Missing node to start execution"


def failing_child():
    return sub_workflow(node("Fail", "stopAndError", 1, (200, 0), errorMessage="child broke"),
                        links=[("Called", 0, "Fail", 0)], name="Failing child")


def test_an_error_in_the_sub_workflow_fails_the_node_naming_the_sub_workflow():
    result = run_workflow(caller(source="parameter", workflowJson=json.dumps(failing_child())))
    assert result.status == "error"
    assert result.error["message"] == "child broke" and result.error["node"] == "Run child"
    assert result.error["description"] == 'Error in the sub-workflow "Failing child", node "Fail"'
    wf = caller(source="parameter", workflowJson=json.dumps(failing_child()))
    wf["nodes"][1]["onError"] = "continueRegularOutput"
    assert jsons(ok(run_workflow(wf, start_data=rows({"n": 1}))), "Run child") == [{"error": "child broke"}]
    each = run_workflow(caller(mode="each", source="parameter", workflowJson=json.dumps(failing_child())))
    assert each.error["message"] == "Error executing workflow with item at index 0"


def test_without_waiting_the_input_passes_through_and_the_child_runs_in_the_background(caplog):
    wf = caller(source="parameter", workflowJson=json.dumps(failing_child()), options={"waitForSubWorkflow": False})
    with caplog.at_level(logging.WARNING, logger="app.nodes.core.execute_workflow"):
        result = ok(run_workflow(wf, start_data=rows({"n": 1})))
        for thread in threading.enumerate():
            if thread.name.startswith("sub-workflow"):
                thread.join(30)
    assert jsons(result, "Run child") == [{"n": 1}]
    assert "child broke" in caplog.text


def test_a_workflow_calling_itself_stops_at_the_nesting_limit():
    itself = {**caller(source="database", workflowId="self"), "id": "self"}
    itself["nodes"][0] = node("Trigger", "executeWorkflowTrigger")
    result = run_workflow(itself, workflow_loader={"self": itself}.get)
    assert result.status == "error" and "nested more than" in result.error["message"]


def test_a_stored_sub_workflow_runs_from_the_cli(app, tmp_path):
    from app.extensions import db
    from app.models import Workflow

    with app.app_context():
        child = sub_workflow()
        stored = Workflow(name="stored child", nodes=child["nodes"], connections=child["connections"], settings={})
        db.session.add(stored)
        db.session.commit()
        child_id = stored.id
    path = tmp_path / "parent.json"
    path.write_text(json.dumps(caller(source="database", workflowId=child_id)))
    result = app.test_cli_runner().invoke(args=["workflow", "run", str(path), "--json"])
    outcome = json.loads(result.output.splitlines()[-1])
    assert outcome["status"] == "success", outcome["error"]
    assert outcome["runData"]["Run child"][0]["data"]["main"][0][0]["json"] == {"seen": True}


# -- Execute Workflow Trigger, Start ---------------------------------------------------------------
def trigger_run(version, items, **parameters):
    wf = workflow([node("Called", "executeWorkflowTrigger", version, **parameters)], [])
    return run_workflow(wf, start_data=rows(*items))


def test_trigger_versions_and_input_modes():
    data = [{"a": 1, "b": "x", "c": [1]}]
    assert jsons(ok(trigger_run(1, data)), "Called") == data
    assert jsons(ok(trigger_run(1.1, data, inputSource="passthrough")), "Called") == data
    fields = {"values": [{"name": "a", "type": "number"}, {"name": "z", "type": "any"}]}
    assert jsons(ok(trigger_run(1.1, data, workflowInputs=fields)), "Called") == [{"a": 1, "z": None}]
    assert jsons(ok(trigger_run(1.1, data)), "Called") == [{}]
    example = json.dumps({"b": "text", "c": [], "d": None})
    assert jsons(ok(trigger_run(1.1, data, inputSource="jsonExample", jsonExample=example)), "Called") == [
        {"b": "x", "c": [1], "d": None}]
    bad = trigger_run(1.1, data, inputSource="jsonExample", jsonExample="[1]")
    assert bad.error["message"] == "Invalid JSON schema type. Only object type is supported, but got array"


def test_start_node_outputs_its_start_data():
    wf = workflow([node("Start", "start"), node("After", "noOp")], [("Start", 0, "After", 0)])
    assert jsons(ok(run_workflow(wf)), "After") == [{}]
    assert jsons(ok(run_workflow(wf, start_data=rows({"x": 1}))), "After") == [{"x": 1}]


# -- Customer Datastore (n8n training) -------------------------------------------------------------
def test_customer_datastore_operations():
    def people(**parameters):
        wf = workflow([TRIGGER, node("People", "n8nTrainingCustomerDatastore", **parameters)],
                      [("Trigger", 0, "People", 0)])
        return jsons(ok(run_workflow(wf, start_data=rows({}, {}))), "People")

    assert people() == [PEOPLE[0], PEOPLE[0]]
    assert people(operation="getAllPeople") == list(PEOPLE) * 2
    assert people(operation="getAllPeople", limit=2) == list(PEOPLE[:2]) * 2
    assert people(operation="getAllPeople", returnAll=True) == list(PEOPLE) * 2
    assert PEOPLE[3]["country"] is None and len(PEOPLE) == 5
