"""No Operation: passes its input through unchanged (a named junction on the canvas)."""
from app.engine.node import NodeType
from app.engine.registry import register


@register
class NoOp(NodeType):
    type = "noOp"
    versions = (1,)
    display_name = "No Operation, do nothing"
    description = "Passes its input through unchanged"
    group = "flow"
    icon = "arrow-right"

    def execute(self, ctx):
        return [ctx.input_items()]
