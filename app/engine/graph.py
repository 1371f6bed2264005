"""Connection indexes of a workflow, in the shapes the runner asks questions in."""
from collections import defaultdict


class Graph:
    def __init__(self, workflow):
        self.workflow = workflow
        # by_source[name][output] -> [Connection, …] in the order the JSON lists them
        self.by_source = defaultdict(lambda: defaultdict(list))
        # by_destination[name][input] -> [Connection, …]
        self.by_destination = defaultdict(lambda: defaultdict(list))
        for conn in workflow.connections:
            if conn.type != "main":
                continue
            self.by_source[conn.source][conn.source_output].append(conn)
            self.by_destination[conn.target][conn.target_input].append(conn)

    def outputs_of(self, name):
        """[(output index, [Connection, …]), …] in output order."""
        return sorted(self.by_source.get(name, {}).items())

    def input_slots(self, name):
        """How many input slots carry connections (n8n: connectionsByDestinationNode[..].main.length)."""
        inputs = self.by_destination.get(name)
        return max(inputs) + 1 if inputs else 0

    def input_connections(self, name, index):
        return self.by_destination.get(name, {}).get(index, [])

    def direct_parents(self, name):
        seen = []
        for index in sorted(self.by_destination.get(name, {})):
            for conn in self.by_destination[name][index]:
                if conn.source not in seen:
                    seen.append(conn.source)
        return seen

    def ancestors(self, name):
        """Every node upstream of `name`, depth first from its first input (n8n's getParentNodes)."""
        found = []

        def visit(node):
            for parent in self.direct_parents(node):
                if parent not in found:
                    found.append(parent)
                    visit(parent)

        visit(name)
        return found

    def descendants(self, name):
        found = []
        pending = [name]
        while pending:
            node = pending.pop()
            for _, conns in self.outputs_of(node):
                for conn in conns:
                    if conn.target not in found:
                        found.append(conn.target)
                        pending.append(conn.target)
        return found

    def direct_children(self, name):
        return [conn.target for _, conns in self.outputs_of(name) for conn in conns]
