"""Code: run the user's JavaScript (in the V8 sandbox) or Python (in a limited child process).

JavaScript runs once for all items or once per item, but always in a single request into V8 (the
per-item loop runs inside V8, which also checks and normalises what the code returns with n8n's
rules, see runtime.js). This module turns failures into n8n's messages and applies continueOnFail.
"""
import re

from app.engine.errors import ExpressionError, NodeError
from app.engine.node import NodeType, Option, Property
from app.engine.python_runner import PythonCodeError, run_python
from app.engine.registry import register

ALL_ITEMS = "runOnceForAllItems"
EACH_ITEM = "runOnceForEachItem"
PYTHON_LANGUAGES = ("python", "pythonNative")
PYTHON_TIMEOUT_S = 10
PYTHON_MEMORY_MB = 512

JS_ALL_ITEMS = """// Loop over input items and add a new field called 'myNewField' to the JSON of each one
for (const item of $input.all()) {
  item.json.myNewField = 1;
}

return $input.all();"""
JS_EACH_ITEM = """// Add a new field called 'myNewField' to the JSON of the item
$input.item.json.myNewField = 1;

return $input.item;"""
PY_ALL_ITEMS = """# Loop over input items and add a new field called 'my_new_field' to the JSON of each one
for item in _items:
    item["json"]["my_new_field"] = 1
return _items"""
PY_EACH_ITEM = """# Add a new field called 'my_new_field' to the JSON of the item
_item["json"]["my_new_field"] = 1
return _item"""


def _code_property(name, display_name, language, mode, sample, show):
    """As in n8n the code defaults to empty; the editor offers the sample (n8n's editor inserts it
    into a new node)."""
    return Property(
        name, display_name, "code", default="", placeholder=sample, no_data_expression=True,
        type_options={"editorLanguage": language},
        display_options={"show": {**show, "mode": [mode]}},
    )


@register
class Code(NodeType):
    type = "code"
    # Builds new items with their own pairedItem: no need to stamp the input first.
    reuses_input_items = False
    versions = (1, 2)
    display_name = "Code"
    description = "Run custom JavaScript or Python code"
    group = "transform"
    icon = "code"
    properties = (
        Property("mode", "Mode", "options", default=ALL_ITEMS, no_data_expression=True, options=[
            Option("Run Once for All Items", ALL_ITEMS,
                   "Run this code only once, no matter how many input items there are"),
            Option("Run Once for Each Item", EACH_ITEM, "Run this code as many times as there are input items"),
        ]),
        Property("language", "Language", "options", default="javaScript", no_data_expression=True,
                 display_options={"show": {"@version": [2]}}, options=[
                     Option("JavaScript", "javaScript"),
                     Option("Python (Beta)", "python"),
                     Option("Python (Native) (Beta)", "pythonNative"),
                 ]),
        Property("language", "Language", "hidden", default="javaScript",
                 display_options={"show": {"@version": [1]}}),
        _code_property("jsCode", "JavaScript", "javaScript", ALL_ITEMS, JS_ALL_ITEMS, {"@version": [1]}),
        _code_property("jsCode", "JavaScript", "javaScript", EACH_ITEM, JS_EACH_ITEM, {"@version": [1]}),
        _code_property("jsCode", "JavaScript", "javaScript", ALL_ITEMS, JS_ALL_ITEMS,
                       {"@version": [2], "language": ["javaScript"]}),
        _code_property("jsCode", "JavaScript", "javaScript", EACH_ITEM, JS_EACH_ITEM,
                       {"@version": [2], "language": ["javaScript"]}),
        _code_property("pythonCode", "Python", "python", ALL_ITEMS, PY_ALL_ITEMS,
                       {"@version": [2], "language": list(PYTHON_LANGUAGES)}),
        _code_property("pythonCode", "Python", "python", EACH_ITEM, PY_EACH_ITEM,
                       {"@version": [2], "language": list(PYTHON_LANGUAGES)}),
        Property("notice", "Type $ for a list of special variables and methods. Debug by using "
                           "console.log() (JavaScript) or print() (Python); the output is kept with the run.",
                 "notice", default=""),
    )

    def execute(self, ctx):
        language = ctx.raw_param("language") if ctx.type_version >= 2 else "javaScript"
        mode = ctx.raw_param("mode") or ALL_ITEMS
        if language in PYTHON_LANGUAGES:
            return [_run_python(ctx, mode)]
        return [_run_javascript(ctx, mode)]


# -- Python ------------------------------------------------------------------------------------------
def _run_python(ctx, mode):
    data = ctx.expressions.data
    execution_mode = data.execution.get("mode")
    context = {
        # As `$execution.mode` in JavaScript: n8n says "test" for manual runs.
        "execution": {**data.execution, "mode": "test" if execution_mode == "manual" else "production"},
        "workflow": data.workflow, "vars": data.variables, "now_ms": data.now_ms, "timezone": data.timezone,
        "node": ctx.node.name, "run_index": ctx.run_index, "mode": execution_mode, "prev_node": data.prev_node,
    }
    nodes = ctx.workflow.nodes if ctx.workflow else {}
    try:
        result = run_python(ctx.get_param("pythonCode"), mode, ctx.input_items(), context=context,
                            timeout_s=PYTHON_TIMEOUT_S, memory_mb=PYTHON_MEMORY_MB,
                            continue_on_fail=ctx.continue_on_fail, proxy=data.proxy,
                            parameters={name: node.parameters for name, node in nodes.items()})
    except PythonCodeError as error:
        ctx.console.extend(error.console)
        if ctx.continue_on_fail and mode == ALL_ITEMS:
            return [{"json": {"error": error.message}}]
        raise
    ctx.console.extend(result.console)
    return result.items


# -- JavaScript --------------------------------------------------------------------------------------
def _run_javascript(ctx, mode):
    code = ctx.get_param("jsCode") or ""
    node = ctx.node.name
    if mode == EACH_ITEM:
        _check_each_item_code(code, node, len(ctx.input_items()))
    try:
        result = ctx.expressions.run_code(code, mode, stop_on_error=not ctx.continue_on_fail)
    except ExpressionError as error:
        raise NodeError(error.reason, node=node, description=error.description) from error
    ctx.console.extend(result.console)
    if not result.errors:
        return result.items
    if not ctx.continue_on_fail:
        _, item_index, error = result.errors[0]
        raise _code_error(error, node, item_index)
    return _with_error_items(result, node, each=mode == EACH_ITEM)


def _with_error_items(result, node, each):
    """continueOnFail: each failed run becomes an item `{"json": {"error": message}}` where its
    output would have been (paired to its item in each-item mode)."""
    output = list(result.items)
    # From the last error back, so the positions of earlier ones stay valid.
    for position, item_index, error in reversed(result.errors):
        item = {"json": {"error": _code_error(error, node, item_index).message}}
        if each:
            item["pairedItem"] = {"item": item_index}
        output.insert(position, item)
    return output


_INPUT_ONLY_FOR_ALL = re.compile(r"\$input\.(first|last|all|itemMatching)")


def _check_each_item_code(code, node, item_count):
    """n8n refuses `$input.first()` and friends in each-item code, naming the first line using one."""
    match = _INPUT_ONLY_FOR_ALL.search(code)
    if not match or not item_count:
        return
    method = match.group(1)
    for number, line in enumerate(code.split("\n"), start=1):
        if method in line and not line.startswith("//") and not line.startswith("*"):
            raise NodeError(_located(f"Can't use .{method}() here", number, 0), node=node, item_index=0,
                            description="This is only available in 'Run Once for All Items' mode")


_HINTS = {"items is not defined": "`items` is not defined. Did you mean `$input.all()`?",
          "item is not defined": "`item` is not defined. Did you mean `$input.item.json`?"}


def _code_error(error, node, run_index):
    """The NodeError for a failed run: a wrong return value (n8n's ValidationError, located by
    item) or an error the code threw (n8n's ExecutionError: message and line, type as description)."""
    if error.get("validation"):
        item_index = error.get("itemIndex", run_index)
        return NodeError(_located(error["message"], None, item_index), node=node, item_index=item_index,
                         description=error.get("description"))
    message = _HINTS.get(error.get("message"), error.get("message") or "Unknown error")
    description = error.get("description") or (error.get("name") if error.get("name") != "Error" else None)
    return NodeError(_located(message, error.get("line"), run_index), node=node, item_index=run_index,
                     description=description)


def _located(message, line, item_index):
    """n8n's "[line 3, for item 0]" suffix."""
    if line is not None and item_index is not None:
        return f"{message} [line {line}, for item {item_index}]"
    if line is not None:
        return f"{message} [line {line}]"
    if item_index is not None:
        return f"{message} [item {item_index}]"
    return message
