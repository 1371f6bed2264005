"""Sticky Note: a note on the canvas. The engine never runs it."""
from app.engine.node import NodeType, Property
from app.engine.registry import register


@register
class StickyNote(NodeType):
    type = "stickyNote"
    versions = (1,)
    display_name = "Sticky Note"
    description = "Write a note on the canvas"
    group = "core"
    icon = "sticky-note"
    inputs = ()
    outputs = ()
    executable = False
    properties = (
        Property(name="content", display_name="Content", type="string", default="## I'm a note"),
        Property(name="height", display_name="Height", type="number", default=160),
        Property(name="width", display_name="Width", type="number", default=240),
        Property(name="color", display_name="Color", type="number", default=1),
    )
