"""The engine's entry point for callers (CLI, runtime, scripts): JSON in, ExecutionResult out."""
import threading

from app.engine.runner import WorkflowRunner
from app.engine.workflow import Workflow

_engine = None
_engine_lock = threading.Lock()


def expression_engine():
    """The process's expression engine, created on first use (never before a fork: RQ forks)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            from app.engine.expressions import ExpressionEngine

            _engine = ExpressionEngine()
        return _engine


def run_workflow(workflow, **options):
    """Run `workflow` (a parsed Workflow or n8n workflow JSON). Options are WorkflowRunner's."""
    if not isinstance(workflow, Workflow):
        workflow = Workflow.parse(workflow)
    options.setdefault("expression_engine", _LazyEngine())
    return WorkflowRunner(workflow, **options).run()


class _LazyEngine:
    """Defers creating V8 until a node really evaluates an expression."""

    def session(self, data):
        return expression_engine().session(data)
