"""Start: the legacy start node of older n8n workflows (before manual triggers existed).

It outputs the data the run starts with. A sub-workflow without an Execute Workflow Trigger
starts here, with the items its caller passed.
"""
from app.engine.node import NodeType, Property
from app.engine.registry import register


@register
class Start(NodeType):
    type = "start"
    versions = (1,)
    display_name = "Start"
    description = "Starts the workflow execution from this node"
    group = "trigger"
    icon = "play"
    inputs = ()
    is_trigger = True
    properties = (
        Property(name="notice", type="notice", default="",
                 display_name="This node is where a manual workflow execution starts. To make one, go back "
                              "to the canvas and click ‘execute workflow’"),
    )

    def execute(self, ctx):
        return [ctx.input_items()]
