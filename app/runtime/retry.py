"""Retrying a failed execution: a new execution (mode `retry`, linked by `retry_of`) of either
the workflow as it was when the execution ran (its snapshot) or the workflow as it is now.

The retry runs the whole workflow again from its trigger; it does not reuse the run data of the
nodes that had succeeded.
"""
from app.engine.states import CANCELED, CRASHED, ERROR
from app.runtime.executions import create_execution

RETRYABLE = frozenset({ERROR, CRASHED, CANCELED})
ORIGINAL, CURRENT = "original", "current"
CHOICES = (ORIGINAL, CURRENT)


class RetryRefused(ValueError):
    """The execution cannot be retried that way; the message says why, for the user."""


def retry_content(execution, use_current):
    """The workflow JSON a retry of `execution` runs."""
    if execution.status not in RETRYABLE:
        raise RetryRefused(f"Execution #{execution.id} is {execution.status}; only failed, crashed or "
                           "canceled executions can be retried.")
    if not use_current:
        return execution.workflow_snapshot or {}
    if execution.workflow is None:
        raise RetryRefused(f"Execution #{execution.id} belongs to no stored workflow; "
                           "retry it with its original workflow.")
    return execution.workflow.content()


def create_retry(execution, use_current=False, status="new", content=None):
    """The retry's execution row, not committed. `content` is `retry_content`'s answer when the
    caller already has it."""
    if content is None:
        content = retry_content(execution, use_current)
    return create_execution(content, mode="retry", workflow=execution.workflow, status=status,
                            retry_of=execution.id)
