"""The registry of node types.

Node modules (under `app/nodes/`) call `register(cls)`; the engine only ever looks types up here,
so it never imports a node module. n8n writes core types as `n8n-nodes-base.<name>`: both that
and the short `<name>` resolve to the same node.
"""

N8N_BASE_PREFIX = "n8n-nodes-base."


def short_type(type_name):
    """`n8n-nodes-base.set` → `set`; any other name is returned unchanged."""
    if type_name.startswith(N8N_BASE_PREFIX):
        return type_name[len(N8N_BASE_PREFIX):]
    return type_name


class NodeRegistry:
    def __init__(self):
        self._types = {}

    def register(self, node_class):
        """Add a node class under its `type` (the short name); returns it, so it works as a decorator."""
        name = node_class.type
        if name in self._types and self._types[name] is not node_class:
            raise ValueError(f"node type {name!r} is registered twice")
        self._types[name] = node_class
        return node_class

    def resolve(self, type_name):
        """The node class for `type_name`, or None when no such type is registered."""
        return self._types.get(short_type(type_name))

    def types(self):
        return dict(self._types)


registry = NodeRegistry()
register = registry.register
