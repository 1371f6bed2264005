"""Execute Workflow Trigger: where a sub-workflow starts when an Execute Workflow node calls it.

It outputs the items the caller passed. Version 1 passes everything through; version 1.1 lets the
sub-workflow declare its inputs ("inputSource"): accept all data, a list of named, typed fields,
or fields inferred from a JSON example. With declared fields each item keeps only those fields,
and a field the caller did not send is null.
"""
import json

from app.engine.node import NodeType, Option, Property
from app.engine.registry import register

PASSTHROUGH, WORKFLOW_INPUTS, JSON_EXAMPLE = "passthrough", "workflowInputs", "jsonExample"
TYPE_OPTIONS = [Option("Allow Any Type", "any"), Option("String", "string"), Option("Number", "number"),
                Option("Boolean", "boolean"), Option("Array", "array"), Option("Object", "object")]
FROM_V1_1 = {"@version": [{"_cnd": {"gte": 1.1}}]}
V1_ONLY = {"show": {"@version": [{"_cnd": {"eq": 1}}]}}
JSON_EXAMPLE_DEFAULT = json.dumps(
    {"aField": "a string", "aNumber": 123, "thisFieldAcceptsAnyType": None, "anArray": []}, indent=2)


@register
class ExecuteWorkflowTrigger(NodeType):
    type = "executeWorkflowTrigger"
    versions = (1, 1.1)
    display_name = "Execute Workflow Trigger"
    description = "Helpers for calling other n8n workflows. Used for designing modular, microservice-like workflows."
    group = "trigger"
    icon = "sign-out-alt"
    inputs = ()
    is_trigger = True
    properties = (
        Property(name="events", display_name="Events", type="hidden", default="worklfow_call",
                 no_data_expression=True, options=[Option(
                     "Workflow Call", "worklfow_call",
                     "When executed by another workflow using Execute Workflow Trigger")]),
        Property(name="notice", type="notice", default="", display_options=V1_ONLY,
                 display_name="When an ‘execute workflow’ node calls this workflow, the execution starts here. "
                              "Any data passed into the 'execute workflow' node will be output by this node."),
        Property(name="outdatedVersionWarning", type="notice", default="", display_options=V1_ONLY,
                 display_name="This node is out of date. Please upgrade by removing it and adding a new one"),
        Property(name="inputSource", display_name="Input data mode", type="options", default=WORKFLOW_INPUTS,
                 no_data_expression=True, display_options={"show": FROM_V1_1}, options=[
                     Option("Define using fields below", WORKFLOW_INPUTS, "Provide input fields via UI"),
                     Option("Define using JSON example", JSON_EXAMPLE, "Generate a schema from an example JSON object"),
                     Option("Accept all data", PASSTHROUGH, "Use all incoming data from the parent workflow"),
                 ]),
        Property(name="jsonExample_notice", type="notice", default="",
                 display_options={"show": {**FROM_V1_1, "inputSource": [JSON_EXAMPLE]}},
                 display_name="Provide an example object to infer fields and their types.<br>To allow any type "
                              "for a given field, set the value to null."),
        Property(name="jsonExample", display_name="JSON Example", type="json", default=JSON_EXAMPLE_DEFAULT,
                 no_data_expression=True, display_options={"show": {**FROM_V1_1, "inputSource": [JSON_EXAMPLE]}}),
        Property(name="workflowInputs", display_name="Workflow Input Schema", type="fixedCollection", default={},
                 placeholder="Add field",
                 description="Define expected input fields. If no inputs are provided, all data from the calling "
                             "workflow will be passed through.",
                 type_options={"multipleValues": True, "sortable": True, "minRequiredFields": 1},
                 display_options={"show": {**FROM_V1_1, "inputSource": [WORKFLOW_INPUTS]}},
                 options=[Property(name="values", display_name="Values", type="collection", options=[
                     Property(name="name", display_name="Name", type="string", default="", required=True,
                              placeholder="e.g. fieldName", no_data_expression=True,
                              description="A unique name for this workflow input, used to reference it from "
                                          "another workflows"),
                     Property(name="type", display_name="Type", type="options", default="string", required=True,
                              options=TYPE_OPTIONS, no_data_expression=True,
                              description="Expected data type for this input value. Determines how this field's "
                                          "values are stored, validated, and displayed."),
                 ])]),
    )

    def execute(self, ctx):
        items = ctx.input_items()
        source = PASSTHROUGH if ctx.type_version < 1.1 else ctx.raw_param("inputSource")
        if source == PASSTHROUGH:
            return [items]
        names = [field["name"] for field in declared_fields(ctx, source)]
        return [[_in_schema(item, names) for item in items]]


def declared_fields(ctx, source):
    """The fields ({"name", "type"}) the sub-workflow declares it accepts."""
    if source == WORKFLOW_INPUTS:
        return list(ctx.raw_param("workflowInputs.values", []) or [])
    if source == JSON_EXAMPLE:
        fields, problem = _fields_of_example(ctx.raw_param("jsonExample"))
        if problem:
            raise ctx.error(problem)
        return fields
    raise ctx.error("Internal Error: Invalid input source")


def _fields_of_example(text):
    """(fields, None), or (None, why not): the fields an example object implies, typed as n8n's
    schema generator types them (null means any type)."""
    try:
        example = json.loads(text) if isinstance(text, str) else text
    except ValueError as exc:
        return None, f"The JSON example is not valid JSON: {exc}"
    kind = _json_type(example)
    if kind != "object":
        return None, f"Invalid JSON schema type. Only object type is supported, but got {kind}"
    return [{"name": name, "type": _json_type(value)} for name, value in example.items()], None


def _json_type(value):
    if value is None:
        return "any"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _in_schema(item, names):
    """The item trimmed to the declared fields; missing ones are null (callers of older versions
    pass all their data, which must not leak past the trigger)."""
    data = item.get("json") or {}
    trimmed = {"json": {name: data.get(name) for name in names}}
    if "binary" in item:
        trimmed["binary"] = item["binary"]
    return trimmed
