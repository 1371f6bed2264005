"""Execute Workflow: runs another workflow (a sub-workflow) with this node's items and outputs
what the sub-workflow's last executed node produced.

Where the sub-workflow comes from ("source"): a workflow stored in FlowForge ("database", by id),
workflow JSON in the node ("parameter", often built by an expression), or a JSON file on the
server ("localFile"). "url" exists for n8n compatibility but FlowForge does not fetch workflows
over the network, so it fails with a clear error. Mode "once" runs the sub-workflow once with all
items, "each" once per item. With "Wait For Sub-Workflow Completion" off, the sub-workflow runs in
the background and this node passes its input through.

The sub-workflow starts at its Execute Workflow Trigger (else at a legacy Start or manual trigger)
with the items as start data, in execution mode "integrated", as in n8n.
"""
import json
import logging
import threading

from app.engine.errors import NodeError
from app.engine.execute import run_workflow
from app.engine.node import NodeType, Option, Property
from app.engine.registry import register, short_type
from app.engine.workflow import WorkflowInvalid

log = logging.getLogger(__name__)

SUB_WORKFLOW_TRIGGER = "executeWorkflowTrigger"
# Where n8n starts a sub-workflow that has no Execute Workflow Trigger.
STARTING_NODES = ("@n8n/n8n-nodes-langchain.manualChatTrigger", "manualTrigger", "start")
# Sub-workflows calling sub-workflows nest Python calls; a workflow that calls itself must stop
# with an error long before the interpreter's recursion limit.
MAX_NESTING = 16
_nesting = threading.local()

UP_TO_V1_1 = {"@version": [{"_cnd": {"lte": 1.1}}]}
FROM_V1_2 = {"@version": [{"_cnd": {"gte": 1.2}}]}
ID_HINT = ("Note on using an expression here: if this node is set to run once with all items, they will all be "
           "sent to the <em>same</em> workflow. That workflow's ID will be calculated by evaluating the "
           "expression for the <strong>first input item</strong>.")


def _source(options, **display):
    return Property(name="source", display_name="Source", type="options", default="database",
                    description="Where to get the workflow to execute from", options=options, **display)


@register
class ExecuteWorkflow(NodeType):
    type = "executeWorkflow"
    versions = (1, 1.1, 1.2, 1.3)
    display_name = "Execute Workflow"
    description = "Execute another workflow"
    group = "flow"
    icon = "sign-in-alt"
    properties = (
        Property(name="operation", display_name="Operation", type="hidden", default="call_workflow",
                 no_data_expression=True, options=[Option("Execute a Sub-Workflow", "call_workflow")]),
        Property(name="outdatedVersionWarning", type="notice", default="", display_options={"show": UP_TO_V1_1},
                 display_name="This node is out of date. Please upgrade by removing it and adding a new one"),
        _source([Option("Database", "database", "Load the workflow from the database by ID"),
                 Option("Local File", "localFile", "Load the workflow from a locally saved file"),
                 Option("Parameter", "parameter", "Load the workflow from a parameter"),
                 Option("URL", "url", "Load the workflow from an URL")],
                display_options={"show": UP_TO_V1_1}),
        _source([Option("Database", "database", "Load the workflow from the database by ID"),
                 Option("Define Below", "parameter", "Pass the JSON code of a workflow")],
                display_options={"show": FROM_V1_2}),
        Property(name="workflowId", display_name="Workflow ID", type="string", default="", required=True,
                 description=ID_HINT, placeholder="Can be found in the URL of the workflow",
                 display_options={"show": {"source": ["database"], "@version": [1]}}),
        Property(name="workflowId", display_name="Workflow", type="workflowSelector", default="", required=True,
                 display_options={"show": {"source": ["database"], "@version": [{"_cnd": {"gte": 1.1}}]}}),
        Property(name="workflowPath", display_name="Workflow Path", type="string", default="", required=True,
                 placeholder="/data/workflow.json", description="The path to local JSON workflow file to execute",
                 display_options={"show": {"source": ["localFile"]}}),
        Property(name="workflowJson", display_name="Workflow JSON", type="json", default="\n\n\n", required=True,
                 description="The workflow JSON code to execute", type_options={"rows": 10},
                 display_options={"show": {"source": ["parameter"]}}),
        Property(name="workflowUrl", display_name="Workflow URL", type="string", default="", required=True,
                 placeholder="https://example.com/workflow.json",
                 description="The URL from which to load the workflow from",
                 display_options={"show": {"source": ["url"]}}),
        Property(name="executeWorkflowNotice", type="notice", default="", display_options={"show": UP_TO_V1_1},
                 display_name="Any data you pass into this node will be output by the Execute Workflow Trigger. "
                              '<a href="https://docs.n8n.io/integrations/builtin/core-nodes/n8n-nodes-base.'
                              'executeworkflow/" target="_blank">More info</a>'),
        Property(name="workflowInputs", display_name="Workflow Inputs", type="resourceMapper", required=True,
                 default={"mappingMode": "defineBelow", "value": None}, no_data_expression=True,
                 type_options={"loadOptionsDependsOn": ["workflowId.value"], "resourceMapper": {
                     "localResourceMapperMethod": "loadSubWorkflowInputs", "valuesLabel": "Workflow Inputs",
                     "mode": "map", "fieldWords": {"singular": "input", "plural": "inputs"}, "addAllFields": True,
                     "multiKeyMatch": False, "supportAutoMap": False, "showTypeConversionOptions": True}},
                 display_options={"show": {"source": ["database"], **FROM_V1_2}, "hide": {"workflowId": [""]}}),
        Property(name="mode", display_name="Mode", type="options", default="once", no_data_expression=True, options=[
            Option("Run once with all items", "once", "Pass all items into a single execution of the sub-workflow"),
            Option("Run once for each item", "each", "Call the sub-workflow individually for each item"),
        ]),
        Property(name="options", display_name="Options", type="collection", default={}, placeholder="Add option",
                 options=[Property(name="waitForSubWorkflow", display_name="Wait For Sub-Workflow Completion",
                                   type="boolean", default=True,
                                   description="Whether the main workflow should wait for the sub-workflow to "
                                               "complete its execution before proceeding")]),
    )

    def execute(self, ctx):
        items = _workflow_inputs(ctx)
        if ctx.get_param("mode", 0) == "each":
            return _run_each(ctx, items)
        return _run_once(ctx, items)


# -- what the sub-workflow gets --------------------------------------------------------------------
def _workflow_inputs(ctx):
    """The input items, with the values mapped under "Workflow Inputs" (version 1.2+, stored
    workflows) laid over each item's fields, minus the fields the mapping removed."""
    mapped = ctx.type_version >= 1.2 and ctx.raw_param("source") == "database"
    values = ctx.get_params("workflowInputs.value") if mapped else None
    schema = (ctx.raw_param("workflowInputs.schema", []) or []) if mapped else []
    removed = {field.get("displayName") for field in schema if field.get("removed")}
    items = []
    for index, item in enumerate(ctx.input_items()):
        data = {**item["json"], **((values[index] if values else None) or {})}
        prepared = {"json": {key: value for key, value in data.items() if key not in removed},
                    "pairedItem": {"item": index}}
        if "binary" in item:
            prepared["binary"] = item["binary"]
        items.append(prepared)
    return items


def _load(ctx, index):
    """The sub-workflow's JSON for item `index`, from wherever "source" says."""
    source = ctx.get_param("source", index)
    if source == "database":
        return _from_database(ctx, index)
    if source == "localFile":
        return _from_file(ctx, ctx.get_param("workflowPath", index), index)
    if source == "parameter":
        return _parse(ctx, ctx.get_param("workflowJson", index), "The workflow JSON")
    if source == "url":
        raise ctx.error("Loading a sub-workflow from a URL is not supported in FlowForge",
                        item_index=index,
                        description='Store the workflow in FlowForge and use the source "Database", or paste its '
                                    'JSON with the source "Parameter".')
    raise ctx.error(f'The source "{source}" is not known', item_index=index)


def _from_database(ctx, index):
    workflow_id = ctx.get_param("workflowId", index)
    if isinstance(workflow_id, dict):  # a resource locator: {"__rl": true, "value": …, "mode": …}
        workflow_id = workflow_id.get("value")
    workflow = ctx.load_workflow(workflow_id) if workflow_id not in (None, "") else None
    if workflow is None:
        raise ctx.error("Workflow does not exist.", item_index=index,
                        description=f'No stored workflow has the ID "{workflow_id}".')
    return workflow


def _from_file(ctx, path, index):
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except FileNotFoundError:
        raise ctx.error(f'The file "{path}" could not be found, [item {index}]', item_index=index) from None
    except OSError as exc:
        raise ctx.error(f'The file "{path}" could not be read: {exc.strerror or exc}', item_index=index) from None
    return _parse(ctx, text, f'The file "{path}"')


def _parse(ctx, value, what):
    if isinstance(value, dict):
        return value
    try:
        data = json.loads(value)
    except (TypeError, ValueError) as exc:
        raise ctx.error(f"{what} is not valid workflow JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ctx.error(f"{what} is not valid workflow JSON: it is not an object")
    return data


# -- running it ------------------------------------------------------------------------------------
def _run_once(ctx, items):
    try:
        wait = (ctx.get_param("options", 0) or {}).get("waitForSubWorkflow", True) is not False
        workflow = _load(ctx, 0)
        if not wait:
            _start_in_background(ctx, workflow, items)
            return [items]
        outputs, run_data, last_node = _run_and_wait(ctx, workflow, items)
    except NodeError as exc:
        if ctx.continue_on_fail:
            return [[{"json": {"error": exc.message}, "pairedItem": _all_items(len(items))}]]
        raise
    return [_with_parent_lineage(output, run_data, last_node, len(items)) for output in outputs]


def _run_each(ctx, items):
    """One sub-workflow run per item; every output item stems from the item it ran for."""
    outputs = []
    for index, item in enumerate(items):
        try:
            wait = (ctx.get_param("options", index) or {}).get("waitForSubWorkflow", True) is not False
            workflow = _load(ctx, index)
            if not wait:
                _start_in_background(ctx, workflow, [item])
                _output(outputs, 0).append(item)
                continue
            results, _, _ = _run_and_wait(ctx, workflow, [item])
        except NodeError as exc:
            if not ctx.continue_on_fail:
                raise ctx.error(f"Error executing workflow with item at index {index}", item_index=index,
                                description=exc.message) from None
            # Before 1.3 an error item went to an output numbered like the item (n8n's old bug).
            error_output = 0 if ctx.type_version >= 1.3 else index
            _output(outputs, error_output).append({"json": {"error": exc.message}, "pairedItem": {"item": index}})
            continue
        for output_index, output in enumerate(results):
            _output(outputs, output_index).extend({**entry, "pairedItem": {"item": index}} for entry in output)
    return outputs


def _output(outputs, index):
    while len(outputs) <= index:
        outputs.append(None)
    if outputs[index] is None:
        outputs[index] = []
    return outputs[index]


def _run_and_wait(ctx, workflow, items):
    """Run the sub-workflow to its end: (its last node's outputs, its run data, that node's name)."""
    depth = getattr(_nesting, "depth", 0)
    if depth >= MAX_NESTING:
        raise ctx.error(f"Sub-workflows are nested more than {MAX_NESTING} deep",
                        description="A workflow probably calls itself; stop the recursion with a condition.")
    _nesting.depth = depth + 1
    try:
        result = _run(ctx, workflow, items, cancel_token=ctx.cancel_token)
    finally:
        _nesting.depth = depth
    if result.status != "success":
        ctx.check_cancelled()  # canceled with this execution: end as canceled, not as a node error
        raise _sub_workflow_error(ctx, workflow, result)
    runs = result.run_data.get(result.last_node_executed) or []
    outputs = (runs[-1].outputs if runs else None) or [[]]
    return [output or [] for output in outputs], result.run_data, result.last_node_executed


def _start_in_background(ctx, workflow, items):
    """Start the sub-workflow without waiting; its outcome only reaches the log."""
    name = _name_of(workflow)
    depth = getattr(_nesting, "depth", 0) + 1
    if depth > MAX_NESTING:
        raise ctx.error(f"Sub-workflows are nested more than {MAX_NESTING} deep",
                        description="A workflow probably calls itself; stop the recursion with a condition.")
    start_node = _start_node(ctx, workflow)

    def background():
        _nesting.depth = depth
        try:
            result = _run(ctx, workflow, items, start_node=start_node)
        except Exception:  # a thread nobody joins: its failure must at least be logged
            log.exception('sub-workflow "%s" started by node "%s" failed', name, ctx.node.name)
            return
        if result.status != "success":
            log.warning('sub-workflow "%s" started by node "%s" ended %s: %s',
                        name, ctx.node.name, result.status, (result.error or {}).get("message"))

    threading.Thread(target=background, name=f"sub-workflow {name}", daemon=True).start()


def _run(ctx, workflow, items, start_node=None, cancel_token=None):
    try:
        return run_workflow(
            workflow, mode="integrated", start_node=start_node or _start_node(ctx, workflow),
            start_data=[dict(item) for item in items], cancel_token=cancel_token,
            # n8n only honours pinned data in the workflow a user runs by hand, never in a sub-workflow.
            pin_data={}, workflow_loader=ctx.load_workflow,
            workflow_meta={"id": workflow.get("id"), "name": _name_of(workflow), "active": False},
        )
    except WorkflowInvalid as exc:
        raise ctx.error(f'The sub-workflow "{_name_of(workflow)}" is not valid: {exc}') from None


def _start_node(ctx, workflow):
    """n8n's findSubworkflowStart: the Execute Workflow Trigger, else a Start or manual trigger."""
    nodes = [node for node in workflow.get("nodes") or [] if isinstance(node, dict)]
    for wanted in ((SUB_WORKFLOW_TRIGGER,), STARTING_NODES):
        for node in nodes:
            if short_type(str(node.get("type"))) in wanted:
                return node.get("name")
    raise ctx.error("Missing node to start execution",
                    description="Please make sure the workflow you're calling contains an Execute Workflow "
                                "Trigger node")


def _name_of(workflow):
    return workflow.get("name") or workflow.get("id") or "(unnamed)"


def _sub_workflow_error(ctx, workflow, result):
    error = result.error or {}
    where = f'the sub-workflow "{_name_of(workflow)}"'
    if error.get("node"):
        where += f', node "{error["node"]}"'
    detail = error.get("description")
    return ctx.error(error.get("message") or f"The sub-workflow ended {result.status}",
                     description=f"Error in {where}" + (f": {detail}" if detail else ""))


# -- lineage ---------------------------------------------------------------------------------------
def _all_items(count):
    return [{"item": index} for index in range(count)]


def _with_parent_lineage(output, run_data, last_node, item_count):
    """The sub-workflow's output items, each paired with the input item of this node it stems
    from: traced back through the sub-workflow's run data to its start; where that fails, item i
    pairs with input i when the counts match, else with every input item."""
    fallback_all = _all_items(item_count)
    paired = []
    for index, item in enumerate(output):
        origin = _trace_to_start(run_data, last_node, item)
        if origin is None:
            origin = {"item": index} if len(output) == item_count else fallback_all
        paired.append({**item, "pairedItem": origin})
    return paired


def _trace_to_start(run_data, node, item):
    """Follow an item's pairedItem links from `node`'s last run back to the sub-workflow's start
    node; the pairedItem found there refers to the start data, i.e. to this node's items."""
    runs = run_data.get(node) or []
    run = runs[-1] if runs else None
    paired = item.get("pairedItem")
    for _ in range(10_000):
        if run is None or paired is None:
            return None
        first = paired[0] if isinstance(paired, list) and paired else paired
        if isinstance(first, int):
            first = {"item": first}
        if not isinstance(first, dict):
            return None
        source = first.get("sourceOverwrite") or _source_of(run, first.get("input") or 0)
        if source is None:
            return paired
        run, paired = _previous_item(run_data, source, first.get("item", 0))
    return None


def _source_of(run, input_index):
    return run.source[input_index] if input_index < len(run.source) else None


def _previous_item(run_data, source, item_index):
    runs = run_data.get(source["previousNode"]) or []
    run_index = source.get("previousNodeRun") or 0
    if run_index >= len(runs):
        return None, None
    run = runs[run_index]
    outputs = run.outputs or []
    output_index = source.get("previousNodeOutput") or 0
    items = (outputs[output_index] or []) if output_index < len(outputs) else []
    if item_index >= len(items):
        return None, None
    return run, items[item_index].get("pairedItem")
