"""Stop and Error: ends the execution with an error the user words (or a whole error object)."""
import json

from app.engine.node import NodeType, Option, Property
from app.engine.registry import register


def _text(value):
    return value if isinstance(value, str) and value else ""


@register
class StopAndError(NodeType):
    type = "stopAndError"
    versions = (1,)
    display_name = "Stop and Error"
    description = "Throw an error in the workflow"
    group = "flow"
    icon = "exclamation-triangle"
    outputs = ()
    properties = (
        Property(name="errorType", display_name="Error Type", type="options", default="errorMessage",
                 description="Type of error to throw",
                 options=[Option("Error Message", "errorMessage"), Option("Error Object", "errorObject")]),
        Property(name="errorMessage", display_name="Error Message", type="string", default="",
                 placeholder="An error occurred!", required=True,
                 display_options={"show": {"errorType": ["errorMessage"]}}),
        Property(name="errorObject", display_name="Error Object", type="json", default="",
                 description="Object containing error properties", required=True,
                 placeholder='{\n  "code": "404",\n  "description": "The resource could not be fetched"\n}',
                 display_options={"show": {"errorType": ["errorObject"]}}),
    )

    def execute(self, ctx):
        if ctx.get_param("errorType") == "errorMessage":
            raise ctx.error(str(ctx.get_param("errorMessage") or ""))
        raw = ctx.get_param("errorObject")
        try:
            error = json.loads(raw) if isinstance(raw, str) else raw
        except json.JSONDecodeError as exc:
            raise ctx.error(f"The error object is not valid JSON: {exc.msg}") from None
        if not isinstance(error, dict):
            raise ctx.error("The error object must be a JSON object")
        message = (_text(error.get("message")) or _text(error.get("description"))
                   or _text(error.get("error")) or f"Error: {json.dumps(error, separators=(',', ':'))}")
        raise ctx.error(message, description=_text(error.get("description")) or None)
