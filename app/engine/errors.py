"""Errors raised while a workflow runs. Each knows the node (and item) it concerns."""


class ExecutionError(Exception):
    """Base class: an error that ends a node's run (or the whole execution)."""

    def __init__(self, message, node=None, item_index=None, description=None):
        super().__init__(message)
        self.message = message
        self.node = node
        self.item_index = item_index
        self.description = description

    def to_json(self):
        """n8n's error shape in run data."""
        data = {"message": self.message, "name": type(self).__name__}
        if self.description:
            data["description"] = self.description
        if self.node:
            data["node"] = self.node
        if self.item_index is not None:
            data["itemIndex"] = self.item_index
        return data


class NodeError(ExecutionError):
    """A node could not do its work (n8n's NodeOperationError)."""


class NodeApiError(NodeError):
    """A remote service answered with an error (n8n's NodeApiError)."""


class ExpressionError(ExecutionError):
    """An expression could not be evaluated; names the node, parameter, item and expression."""

    def __init__(self, message, node=None, parameter=None, item_index=None, expression=None, description=None):
        where = []
        if node:
            where.append(f'node "{node}"')
        if parameter:
            where.append(f'parameter "{parameter}"')
        if item_index is not None:
            where.append(f"item {item_index}")
        full = f"{message} [{', '.join(where)}]" if where else message
        if expression:
            full += f" in expression {expression!r}"
        super().__init__(full, node=node, item_index=item_index, description=description)
        self.parameter = parameter
        self.expression = expression
        self.reason = message


class WorkflowCanceled(ExecutionError):
    """The execution was canceled; the runner stops at the next node boundary."""


class WorkflowTimeout(ExecutionError):
    """The workflow ran longer than its executionTimeout setting."""


class WorkflowNotRunnable(ExecutionError):
    """The workflow cannot start: unknown node types, no start node, bad start node."""
