"""Manual Trigger: where a workflow starts when someone clicks "Execute workflow"."""
from app.engine.node import NodeType, Property
from app.engine.registry import register


@register
class ManualTrigger(NodeType):
    type = "manualTrigger"
    versions = (1,)
    display_name = "When clicking 'Execute workflow'"
    description = "Runs the flow when you click Execute workflow in FlowForge"
    group = "trigger"
    icon = "mouse-pointer"
    inputs = ()
    is_trigger = True
    properties = (
        Property(
            name="notice", display_name="This node is where the workflow starts when you run it by hand.",
            type="notice", default="",
        ),
    )

    def execute(self, ctx):
        # The runner hands a trigger its start data: one empty item for a manual run.
        return [ctx.input_items() or [{"json": {}}]]
