"""Execution states and the one gate every state change goes through."""

NEW, QUEUED, RUNNING, WAITING = "new", "queued", "running", "waiting"
SUCCESS, ERROR, CANCELED, CRASHED = "success", "error", "canceled", "crashed"

TERMINAL = frozenset({SUCCESS, ERROR, CANCELED, CRASHED})

ALLOWED = {
    NEW: frozenset({QUEUED, RUNNING, CANCELED}),
    QUEUED: frozenset({RUNNING, CANCELED, CRASHED}),
    RUNNING: frozenset({WAITING, SUCCESS, ERROR, CANCELED, CRASHED}),
    WAITING: frozenset({RUNNING, CANCELED, CRASHED}),
    **{state: frozenset() for state in TERMINAL},
}


class InvalidTransition(ValueError):
    pass


def can_transition(current, target):
    return target in ALLOWED.get(current, frozenset())


def transition(execution, target):
    """Move `execution` (anything with a `status` attribute) to `target`, or refuse."""
    current = execution.status
    if not can_transition(current, target):
        if current in TERMINAL:
            raise InvalidTransition(f"execution is already {current}; a finished execution cannot become {target}")
        raise InvalidTransition(f"an execution cannot go from {current} to {target}")
    execution.status = target
    return execution
