"""The runner's rules on small hand-made workflows, with test node types in a private registry."""
import threading
import time

import pytest

from app.engine.context import CancelToken
from app.engine.node import NodeType
from app.engine.registry import NodeRegistry
from app.engine.runner import RunHooks, WorkflowRunner, choose_next, waiting_reasons
from app.engine.states import InvalidTransition, TERMINAL, can_transition, transition
from app.engine.workflow import Workflow

registry = NodeRegistry()


@registry.register
class Trigger(NodeType):
    type = "trigger"
    inputs = ()
    is_trigger = True

    def execute(self, ctx):
        return [ctx.input_items()]


@registry.register
class Emit(NodeType):
    """Outputs the items in its `items` parameter (a list of json objects)."""
    type = "emit"

    def execute(self, ctx):
        return [[{"json": dict(data)} for data in ctx.raw_param("items", [])]]


@registry.register
class Pass(NodeType):
    type = "pass"

    def execute(self, ctx):
        return [ctx.input_items()]


@registry.register
class Route(NodeType):
    """Two outputs: items whose json.v is truthy go to output 0, the rest to output 1."""
    type = "route"
    outputs = ("main", "main")

    def output_count(self, node):
        return 2

    def execute(self, ctx):
        items = ctx.input_items()
        return [[i for i in items if i["json"].get("v")], [i for i in items if not i["json"].get("v")]]


@registry.register
class Fail(NodeType):
    """Fails the first `failures` attempts (counted per node), then passes items through."""
    type = "fail"
    attempts = {}

    def execute(self, ctx):
        key = ctx.node.name
        Fail.attempts[key] = Fail.attempts.get(key, 0) + 1
        if Fail.attempts[key] <= ctx.raw_param("failures", 10**6):
            raise ctx.error(f"failure {Fail.attempts[key]}")
        return [ctx.input_items()]


@registry.register
class PerItemError(NodeType):
    """With continue-on-fail, turns items with json.bad into error items (as n8n nodes do)."""
    type = "perItem"

    def execute(self, ctx):
        out = []
        for index, item in enumerate(ctx.input_items()):
            if item["json"].get("bad"):
                if not ctx.continue_on_fail:
                    raise ctx.error("bad item", item_index=index)
                out.append({"json": {"error": "bad item"}, "pairedItem": {"item": index}})
            else:
                out.append({"json": {"ok": True}, "pairedItem": {"item": index}})
        return [out]


@registry.register
class Concat(NodeType):
    """Two inputs, one output: input 0's items then input 1's."""
    type = "concat"
    inputs = ("main", "main")

    def execute(self, ctx):
        return [ctx.input_items(0) + ctx.input_items(1)]


@registry.register
class Loop(NodeType):
    """Outputs to 'again' (0) for its first `times` runs, then to 'done' (1)."""
    type = "loop"
    outputs = ("main", "main")

    def execute(self, ctx):
        items = ctx.input_items()
        if ctx.run_index < ctx.raw_param("times", 2):
            return [items, []]
        return [[], items]


@registry.register
class Sleep(NodeType):
    type = "sleep"

    def execute(self, ctx):
        ctx.sleep(ctx.raw_param("seconds", 30))
        return [ctx.input_items()]


class NoExpressions:
    def session(self, data):
        raise AssertionError("these tests use no expressions")


class Recorder(RunHooks):
    def __init__(self):
        self.started = []

    def node_started(self, node_name, run_index):
        self.started.append(node_name)


def node(name, type_, x=0, y=0, **extra):
    params = extra.pop("parameters", {})
    return {"name": name, "type": type_, "typeVersion": 1, "position": [x, y], "parameters": params, **extra}


def conn(*targets):
    """One output's list of targets: conn("B") or conn(("C", 1)) for input 1."""
    out = []
    for target in targets:
        name, index = target if isinstance(target, tuple) else (target, 0)
        out.append({"node": name, "type": "main", "index": index})
    return out


def run(nodes, connections, order="v1", pin_data=None, **options):
    data = {"name": "t", "nodes": nodes, "connections": connections,
            "settings": {"executionOrder": order} if order else {}, "pinData": pin_data or {}}
    settings_extra = options.pop("settings", {})
    data["settings"].update(settings_extra)
    hooks = Recorder()
    runner = WorkflowRunner(Workflow.parse(data, registry), registry=registry,
                            expression_engine=NoExpressions(), hooks=hooks, **options)
    result = runner.run()
    result.order = hooks.started
    return result


def items(result, name, output=0, run_index=0):
    return [i["json"] for i in result.run_data[name][run_index].outputs[output]]


ONE = [{"n": 1}]


def test_linear_run_records_n8n_run_data():
    result = run([node("T", "trigger"), node("E", "emit", parameters={"items": [{"a": 1}, {"a": 2}]}),
                  node("P", "pass")],
                 {"T": {"main": [conn("E")]}, "E": {"main": [conn("P")]}})
    assert result.status == "success"
    assert items(result, "P") == [{"a": 1}, {"a": 2}]
    run_p = result.to_json()["runData"]["P"][0]
    assert run_p["source"] == [{"previousNode": "E", "previousNodeOutput": 0, "previousNodeRun": 0}]
    assert run_p["executionStatus"] == "success" and isinstance(run_p["executionTime"], int)
    assert [i["pairedItem"] for i in result.run_data["P"][0].outputs[0]] == [{"item": 0}, {"item": 1}]
    assert result.last_node_executed == "P"


def test_only_nodes_downstream_of_the_start_node_run():
    nodes = [node("T", "trigger"), node("A", "pass"), node("B", "emit", parameters={"items": ONE}),
             node("C", "pass")]
    connections = {"T": {"main": [conn("A")]}, "B": {"main": [conn("C")]}}
    assert set(run(nodes, connections).run_data) == {"T", "A"}
    started_at_b = run(nodes, connections, start_node="B")
    assert set(started_at_b.run_data) == {"B", "C"}


def test_branching_by_output_and_empty_outputs_start_nothing():
    result = run([node("T", "trigger"), node("E", "emit", parameters={"items": [{"v": 1}, {"v": 0}, {"v": 2}]}),
                  node("R", "route"), node("Yes", "pass"), node("No", "pass"), node("Never", "pass")],
                 {"T": {"main": [conn("E")]}, "E": {"main": [conn("R")]},
                  "R": {"main": [conn("Yes"), conn("No")]}, "No": {"main": [conn("Never")]}})
    assert items(result, "Yes") == [{"v": 1}, {"v": 2}]
    assert items(result, "No") == [{"v": 0}]
    empty = run([node("T", "trigger"), node("E", "emit", parameters={"items": [{"v": 1}]}),
                 node("R", "route"), node("No", "pass")],
                {"T": {"main": [conn("E")]}, "E": {"main": [conn("R")]}, "R": {"main": [[], conn("No")]}})
    assert "No" not in empty.run_data


def test_always_output_data_starts_children_with_an_empty_item():
    result = run([node("T", "trigger"), node("E", "emit", parameters={"items": []}, alwaysOutputData=True),
                  node("P", "pass")],
                 {"T": {"main": [conn("E")]}, "E": {"main": [conn("P")]}})
    assert items(result, "E") == [{}] and items(result, "P") == [{}]


def test_v1_runs_depth_first_upper_branch_first_and_v0_breadth_first():
    nodes = [node("T", "trigger"), node("Low", "pass", y=300), node("Up", "pass", y=-100),
             node("UpChild", "pass", y=-100, x=400)]
    connections = {"T": {"main": [conn("Low", "Up")]}, "Up": {"main": [conn("UpChild")]}}
    assert run(nodes, connections, "v1").order == ["T", "Up", "UpChild", "Low"]
    assert run(nodes, connections, None).order == ["T", "Low", "Up", "UpChild"]


def test_multi_input_node_waits_for_both_inputs():
    nodes = [node("T", "trigger"), node("A", "emit", parameters={"items": [{"a": 1}]}, y=-100),
             node("B", "emit", parameters={"items": [{"b": 1}]}, y=100), node("M", "concat", x=400)]
    connections = {"T": {"main": [conn("A", "B")]}, "A": {"main": [conn("M")]}, "B": {"main": [conn(("M", 1))]}}
    for order in ("v1", None):
        result = run(nodes, connections, order)
        assert items(result, "M") == [{"a": 1}, {"b": 1}], order
        assert len(result.run_data["M"]) == 1


def test_an_input_that_can_no_longer_produce_counts_as_empty_in_v1():
    nodes = [node("T", "trigger"), node("E", "emit", parameters={"items": [{"v": 1}]}), node("R", "route"),
             node("M", "concat")]
    connections = {"T": {"main": [conn("E")]}, "E": {"main": [conn("R")]},
                   "R": {"main": [conn("M"), conn(("M", 1))]}}
    result = run(nodes, connections, "v1")
    assert items(result, "M") == [{"v": 1}]


def test_choose_next_explains_why_a_node_waits():
    data = {"name": "t", "nodes": [node("A", "emit"), node("B", "emit"), node("M", "concat")],
            "connections": {"A": {"main": [conn("M")]}, "B": {"main": [conn(("M", 1))]}}}
    graph = WorkflowRunner(Workflow.parse(data, registry), registry=registry,
                           expression_engine=NoExpressions()).graph
    waiting = {"M": {0: {"inputs": [[{"json": {}}], None], "source": [None, None]}}}
    assert waiting_reasons(waiting, graph) == {"M": "waiting for input 2 (from B)"}
    choice = choose_next([], waiting, graph, {"executionOrder": "v1"}, {})
    assert choice.entry.node == "M" and choice.entry.inputs == [[{"json": {}}], []]
    assert choose_next([], {}, graph, {}, {}) is None


def test_loops_append_runs():
    nodes = [node("T", "trigger"), node("L", "loop", parameters={"times": 2}), node("Body", "pass"),
             node("Done", "pass")]
    connections = {"T": {"main": [conn("L")]}, "L": {"main": [conn("Body"), conn("Done")]},
                   "Body": {"main": [conn("L")]}}
    result = run(nodes, connections)
    assert len(result.run_data["L"]) == 3
    assert len(result.run_data["Body"]) == 2
    assert result.run_data["L"][2].source == [{"previousNode": "Body", "previousNodeOutput": 0, "previousNodeRun": 1}]
    assert len(result.run_data["Done"]) == 1


def test_disabled_node_passes_its_input_through():
    result = run([node("T", "trigger"), node("E", "emit", parameters={"items": [{"a": 1}]}),
                  node("F", "fail", disabled=True), node("P", "pass")],
                 {"T": {"main": [conn("E")]}, "E": {"main": [conn("F")]}, "F": {"main": [conn("P")]}})
    assert result.status == "success" and items(result, "P") == [{"a": 1}]


def test_pinned_data_replaces_the_node():
    result = run([node("T", "trigger"), node("F", "fail"), node("P", "pass")],
                 {"T": {"main": [conn("F")]}, "F": {"main": [conn("P")]}},
                 pin_data={"F": [{"json": {"pinned": True}}, {"plain": 1}]})
    assert result.status == "success"
    assert items(result, "P") == [{"pinned": True}, {"plain": 1}]


def test_execute_once_uses_the_first_item_only():
    result = run([node("T", "trigger"), node("E", "emit", parameters={"items": [{"a": 1}, {"a": 2}]}),
                  node("P", "pass", executeOnce=True)],
                 {"T": {"main": [conn("E")]}, "E": {"main": [conn("P")]}})
    assert items(result, "P") == [{"a": 1}]


def test_retry_on_fail_retries_then_succeeds():
    Fail.attempts.clear()
    result = run([node("T", "trigger"), node("F", "fail", parameters={"failures": 2}, retryOnFail=True,
                                                  maxTries=3, waitBetweenTries=0)],
                 {"T": {"main": [conn("F")]}})
    assert result.status == "success" and Fail.attempts["F"] == 3


def test_retry_gives_up_after_max_tries():
    Fail.attempts.clear()
    result = run([node("T", "trigger"), node("F", "fail", retryOnFail=True, maxTries=2, waitBetweenTries=0)],
                 {"T": {"main": [conn("F")]}})
    assert result.status == "error" and Fail.attempts["F"] == 2
    assert result.error["message"] == "failure 2" and result.error["node"] == "F"


def test_stop_workflow_on_error_ends_the_execution():
    Fail.attempts.clear()
    result = run([node("T", "trigger"), node("F", "fail"), node("P", "pass")],
                 {"T": {"main": [conn("F")]}, "F": {"main": [conn("P")]}})
    assert result.status == "error"
    assert result.last_node_executed == "F" and "P" not in result.run_data
    failed = result.to_json()["runData"]["F"][0]
    assert failed["executionStatus"] == "error" and failed["error"]["message"] == "failure 1"


def test_continue_regular_output_passes_the_input_on():
    Fail.attempts.clear()
    result = run([node("T", "trigger"), node("E", "emit", parameters={"items": [{"a": 1}]}),
                  node("F", "fail", onError="continueRegularOutput"), node("P", "pass")],
                 {"T": {"main": [conn("E")]}, "E": {"main": [conn("F")]}, "F": {"main": [conn("P")]}})
    assert result.status == "success"
    assert items(result, "P") == [{"a": 1}]
    assert result.run_data["F"][0].error["message"] == "failure 1"


def test_continue_error_output_routes_failed_items_with_their_input():
    result = run([node("T", "trigger"),
                  node("E", "emit", parameters={"items": [{"id": 1}, {"id": 2, "bad": True}]}),
                  node("X", "perItem", onError="continueErrorOutput"), node("Ok", "pass"), node("Bad", "pass")],
                 {"T": {"main": [conn("E")]}, "E": {"main": [conn("X")]}, "X": {"main": [conn("Ok"), conn("Bad")]}})
    assert items(result, "Ok") == [{"ok": True}]
    assert items(result, "Bad") == [{"id": 2, "bad": True, "error": "bad item"}]


def test_workflow_timeout_cancels_even_a_waiting_node():
    started = time.monotonic()
    result = run([node("T", "trigger"), node("S", "sleep", parameters={"seconds": 30}), node("P", "pass")],
                 {"T": {"main": [conn("S")]}, "S": {"main": [conn("P")]}}, settings={"executionTimeout": 1})
    assert result.status == "canceled"
    assert "timeout (1 s)" in result.error["message"]
    assert time.monotonic() - started < 20
    assert "P" not in result.run_data


def test_cancel_stops_a_running_execution_inside_a_wait():
    token = CancelToken()
    outcome = {}
    nodes = [node("T", "trigger"), node("S", "sleep", parameters={"seconds": 30}), node("P", "pass")]
    thread = threading.Thread(target=lambda: outcome.update(result=run(
        nodes, {"T": {"main": [conn("S")]}, "S": {"main": [conn("P")]}}, cancel_token=token)))
    thread.start()
    token.cancel()
    thread.join(timeout=10)
    assert not thread.is_alive(), "a canceled execution stops"
    assert outcome["result"].status == "canceled"
    assert "P" not in outcome["result"].run_data


def test_partial_run_reuses_earlier_run_data():
    Fail.attempts.clear()
    nodes = [node("T", "trigger"), node("E", "emit", parameters={"items": [{"a": 1}]}), node("P", "pass"),
             node("Q", "pass"), node("Other", "fail")]
    connections = {"T": {"main": [conn("E", "Other")]}, "E": {"main": [conn("P")]}, "P": {"main": [conn("Q")]}}
    first = run(nodes, connections, destination_node="P")
    assert set(first.run_data) == {"T", "E", "P"}, "only what P needs runs"
    prior = dict(first.run_data)
    prior["P"][0].outputs = [[{"json": {"from": "earlier run"}}]]
    second = run(nodes, connections, destination_node="Q", run_data=prior)
    assert second.order == ["Q"], "nodes with run data are not run again"
    assert items(second, "Q") == [{"from": "earlier run"}]
    again = run(nodes, connections, destination_node="P", run_data=prior)
    assert again.order == ["P"], "the destination itself always runs"
    assert items(again, "P") == [{"a": 1}]
    assert Fail.attempts == {}


def test_unknown_node_types_stop_the_run_before_it_starts():
    data = {"name": "t", "nodes": [node("T", "trigger"), node("X", "n8n-nodes-base.nope")],
            "connections": {"T": {"main": [conn("X")]}}}
    result = WorkflowRunner(Workflow.parse(data, registry), registry=registry,
                            expression_engine=NoExpressions()).run()
    assert result.status == "error"
    assert result.error["message"] == (
        'The workflow has nodes of unknown types and cannot run: "X" (n8n-nodes-base.nope)'
    )
    assert result.run_data == {}


def test_paired_items_trace_back_through_nodes():
    from app.engine.run_data import DataProxy

    result = run([node("T", "trigger"), node("E", "emit", parameters={"items": [{"v": 0}, {"v": 1}, {"v": 2}]}),
                  node("R", "route"), node("P", "pass")],
                 {"T": {"main": [conn("E")]}, "E": {"main": [conn("R")]}, "R": {"main": [conn("P")]}})
    p_run = result.run_data["P"][0]
    proxy = DataProxy(result.run_data, "Next", [{"previousNode": "P", "previousNodeOutput": 0, "previousNodeRun": 0}],
                      p_run.outputs[0], ["T", "E", "R", "P"])
    assert [i["json"] for i in proxy.paired_items("E")] == [{"v": 1}, {"v": 2}]


def test_state_transitions_go_through_one_gate():
    class Row:
        status = "new"

    row = Row()
    for state in ("queued", "running", "waiting", "running", "success"):
        transition(row, state)
    assert row.status == "success"
    with pytest.raises(InvalidTransition, match="already success"):
        transition(row, "running")
    assert not can_transition("new", "success")
    assert TERMINAL == {"success", "error", "canceled", "crashed"}
    for state in TERMINAL:
        assert not any(can_transition(state, other) for other in ("new", "queued", "running", "waiting"))


def test_display_options_follow_n8n_rules():
    from app.engine.node import Property, is_visible

    by_mode = Property("x", "X", "string", display_options={"show": {"mode": ["raw"]}})
    by_version = Property("y", "Y", "string", display_options={"show": {"@version": [{"_cnd": {"gte": 3}}]}})
    top_level = Property("z", "Z", "string", display_options={"hide": {"/include": ["all"]}})
    assert is_visible(by_mode, {"mode": "raw"}, 1) and not is_visible(by_mode, {"mode": "manual"}, 1)
    assert is_visible(by_version, {}, 3.4) and not is_visible(by_version, {}, 2)
    assert is_visible(top_level, {}, 1, root={"include": "none"})
    assert not is_visible(top_level, {}, 1, root={"include": "all"})


def test_hooks_see_every_started_node_finish_and_skipped_nodes_not_start():
    class Pairs(RunHooks):
        def __init__(self):
            self.events = []

        def node_started(self, node_name, run_index):
            self.events.append(("start", node_name))

        def node_finished(self, node_name, run_index, run):
            self.events.append(("finish", node_name))

    hooks = Pairs()
    data = {"name": "t", "settings": {"executionOrder": "v1"}, "nodes": [
        node("T", "trigger"), node("E", "emit", parameters={"items": [{"v": 1}]}), node("R", "route"),
        node("M", "concat")],
        "connections": {"T": {"main": [conn("E")]}, "E": {"main": [conn("R")]},
                        "R": {"main": [conn("M"), conn(("M", 1))]}}}
    WorkflowRunner(Workflow.parse(data, registry), registry=registry, expression_engine=NoExpressions(),
                   hooks=hooks).run()
    starts = [name for kind, name in hooks.events if kind == "start"]
    finishes = [name for kind, name in hooks.events if kind == "finish"]
    assert starts == finishes == ["T", "E", "R", "M"]
