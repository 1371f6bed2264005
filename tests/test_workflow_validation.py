"""The workflow model: every kind of bad workflow gives a message that names what is wrong."""
import copy
import json
from pathlib import Path

import pytest

from app.engine.registry import NodeRegistry, short_type
from app.engine.workflow import Workflow, WorkflowInvalid, validate

EXPORT = json.loads((Path(__file__).parent / "data" / "n8n_export.json").read_text())


def node(name, type_="n8n-nodes-base.noOp", **extra):
    return {"name": name, "type": type_, "typeVersion": 1, "position": [0, 0], "parameters": {}, **extra}


def workflow(*nodes, connections=None, **extra):
    return {"name": "W", "nodes": list(nodes), "connections": {} if connections is None else connections, **extra}


def link(target, index=0):
    return {"node": target, "type": "main", "index": index}


def errors(data, registry=None):
    return [str(p) for p in validate(data, registry) if p.severity == "error"]


def warnings(data, registry=None):
    return [str(p) for p in validate(data, registry) if p.severity == "warning"]


def test_real_n8n_export_is_valid():
    assert errors(EXPORT) == []


def test_not_an_object():
    assert errors([1, 2]) == ["The workflow must be a JSON object."]


def test_nodes_must_be_a_list():
    assert errors({"name": "W", "nodes": {"a": 1}}) == ['The workflow needs a "nodes" list.']


def test_duplicate_node_names_name_the_node():
    assert errors(workflow(node("A"), node("A"))) == [
        'Node "A": the name "A" is used by more than one node; names must be unique.'
    ]


def test_duplicate_node_ids():
    problems = errors(workflow(node("A", id="x1"), node("B", id="x1")))
    assert problems == ['Node "B": id "x1" is also used by node "A".']


def test_node_without_name_or_type():
    assert errors(workflow({"type": "n8n-nodes-base.noOp"})) == ["Node #1 needs a non-empty name."]
    assert errors(workflow({"name": "A"})) == ['Node "A" needs a type (for example n8n-nodes-base.set).']


def test_node_entry_must_be_an_object():
    assert errors(workflow("A")) == ["Node #1 must be a JSON object."]


@pytest.mark.parametrize("field, value, message", [
    ("parameters", [], "parameters must be a JSON object."),
    ("position", [1], "position must be a list of two numbers [x, y]."),
    ("position", ["a", 2], "position must be a list of two numbers [x, y]."),
    ("typeVersion", "2", "typeVersion must be a positive number."),
    ("typeVersion", 0, "typeVersion must be a positive number."),
    ("disabled", "yes", "disabled must be true or false."),
    ("retryOnFail", 1, "retryOnFail must be true or false."),
    ("onError", "explode", "onError must be one of stopWorkflow, continueRegularOutput, continueErrorOutput, not 'explode'."),
    ("maxTries", 0, "maxTries must be a whole number of at least 1."),
    ("waitBetweenTries", -5, "waitBetweenTries must be a whole number of milliseconds, 0 or more."),
    ("credentials", {"httpBasicAuth": "secret"}, 'credentials must map a credential type to {"id": …, "name": …}.'),
    ("notes", 5, "notes must be text."),
])
def test_malformed_node_fields(field, value, message):
    assert errors(workflow(node("Set", **{field: value}))) == [f'Node "Set": {message}']


def test_connection_from_unknown_node():
    data = workflow(node("A"), connections={"Ghost": {"main": [[link("A")]]}})
    assert errors(data) == ['Connection from "Ghost": there is no node named "Ghost".']


def test_connection_to_unknown_node():
    data = workflow(node("A"), connections={"A": {"main": [[link("Ghost")]]}})
    assert errors(data) == [
        'Connection from "A", output 0 points at "Ghost", which is not a node of this workflow.'
    ]


@pytest.mark.parametrize("connections, message", [
    ([], '"connections" must be a JSON object keyed by node name.'),
    ({"A": [[link("B")]]}, 'Connection from "A" must map a connection type ("main") to outputs.'),
    ({"A": {"main": {"0": []}}}, 'Connection from "A": "main" must be a list of outputs.'),
    ({"A": {"main": [link("B")]}}, 'Connection from "A", output 0 must be a list of targets.'),
    ({"A": {"main": [[{"type": "main"}]]}}, 'Connection from "A", output 0: each target needs a "node" name.'),
    ({"A": {"main": [[link("B", -1)]]}}, 'Connection from "A", output 0 → "B": the input index must be a whole number, 0 or more.'),
])
def test_malformed_connections(connections, message):
    assert errors(workflow(node("A"), node("B"), connections=connections)) == [message]


def test_null_outputs_are_allowed_as_in_n8n_exports():
    data = workflow(node("A"), node("B"), connections={"A": {"main": [None, [link("B")]]}})
    assert errors(data) == []
    parsed = Workflow.parse(data, registry=registry_with("noOp"))
    assert [(c.source, c.source_output, c.target) for c in parsed.connections] == [("A", 1, "B")]


@pytest.mark.parametrize("settings, message", [
    ([], '"settings" must be a JSON object.'),
    ({"timezone": "Mars/Olympus"}, 'Settings: "Mars/Olympus" is not a known time zone (for example Europe/Berlin).'),
    ({"executionTimeout": "long"}, "Settings: executionTimeout must be a number of seconds (-1 for none)."),
    ({"executionOrder": "v2"}, "Settings: executionOrder must be \"v0\" or \"v1\", not 'v2'."),
])
def test_malformed_settings(settings, message):
    assert errors(workflow(node("A"), settings=settings)) == [message]


def test_default_timezone_is_accepted():
    assert errors(workflow(node("A"), settings={"timezone": "DEFAULT"})) == []


@pytest.mark.parametrize("pin_data, message", [
    ({"Ghost": [{"json": {}}]}, 'Pinned data for "Ghost": there is no node with that name.'),
    ({"A": {"json": {}}}, 'Node "A": pinned data must be a list of items (JSON objects).'),
    ({"A": [1, 2]}, 'Node "A": pinned data must be a list of items (JSON objects).'),
])
def test_malformed_pin_data(pin_data, message):
    assert errors(workflow(node("A"), pinData=pin_data)) == [message]


def test_every_problem_is_reported_at_once():
    data = workflow(node("A", parameters=[]), node("A"), connections={"A": {"main": [[link("Z")]]}})
    assert len(errors(data)) == 3


def test_unknown_type_is_a_warning_not_an_error():
    data = workflow(node("Mystery", "n8n-nodes-base.doesNotExist"))
    assert errors(data) == []
    assert warnings(data, NodeRegistry()) == [
        'Node "Mystery": unknown node type "n8n-nodes-base.doesNotExist"; the workflow cannot run until it exists.'
    ]


def registry_with(*types):
    registry = NodeRegistry()
    for name in types:
        registry.register(type(name, (), {"type": name}))
    return registry


def test_known_types_resolve_with_or_without_the_n8n_prefix():
    registry = registry_with("set")
    assert registry.resolve("n8n-nodes-base.set") is registry.resolve("set") is not None
    assert short_type("n8n-nodes-base.httpRequest") == "httpRequest"
    assert warnings(workflow(node("S", "n8n-nodes-base.set"), node("T", "set")), registry) == []


def test_registering_two_classes_under_one_type_is_refused():
    registry = registry_with("set")
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(type("Other", (), {"type": "set"}))


def test_parse_builds_the_graph_and_marks_unknown_nodes():
    registry = registry_with("manualTrigger", "if", "set", "noOp", "stickyNote")
    parsed = Workflow.parse(EXPORT, registry)
    assert list(parsed.nodes) == [n["name"] for n in EXPORT["nodes"]]
    assert [n.name for n in parsed.unknown_nodes] == ["Fetch leads"]
    assert [(c.target, c.source_output) for c in parsed.children("Hot lead?")] == [("Mark hot", 0), ("Ignore", 1)]
    assert [c.source for c in parsed.parents("Hot lead?")] == ["Fetch leads"]
    fetch = parsed.nodes["Fetch leads"]
    assert (fetch.retry_on_fail, fetch.max_tries, fetch.wait_between_tries) == (True, 2, 2000)
    assert fetch.credentials == {"httpHeaderAuth": {"id": "Xp2m9QkR7tLc1AbC", "name": "Lead API key"}}
    assert parsed.settings["timezone"] == "Europe/Berlin"


def test_legacy_continue_on_fail_maps_to_on_error():
    parsed = Workflow.parse(workflow(node("A", continueOnFail=True)), registry_with("noOp"))
    assert parsed.nodes["A"].on_error == "continueRegularOutput"


def test_parse_raises_with_every_error():
    bad = copy.deepcopy(EXPORT)
    bad["nodes"][1]["name"] = bad["nodes"][0]["name"]
    with pytest.raises(WorkflowInvalid) as info:
        Workflow.parse(bad)
    messages = [str(p) for p in info.value.problems]
    assert any("used by more than one node" in m for m in messages)
    assert any('no node named "Fetch leads"' in m for m in messages)
