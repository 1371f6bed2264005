"""The heartbeat of a running execution: proof of life for the reconciler, and the way a stop
request from another process reaches the run.

A thread beside the run writes `heartbeat_at` every EXECUTIONS_HEARTBEAT_S seconds and, every
second, reads `cancel_requested_at`; once that is set it cancels the run's CancelToken, which
stops the run at its next node boundary and wakes a Wait node or retry pause at once. Polling
the database keeps it the one source of truth: a stop works whichever process runs the execution,
without a second channel that could lose the request.
"""
import logging
import threading

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.models import Execution
from app.models.base import utcnow

log = logging.getLogger(__name__)

CANCEL_POLL_S = 1.0
STOP_REASON = "The execution was canceled by a user"


class Heartbeat:
    def __init__(self, app, execution_id, token, interval):
        self.app = app
        self.execution_id = execution_id
        self.token = token
        self.interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{execution_id}", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stopped.set()
        self._thread.join()

    def _loop(self):
        with self.app.app_context():
            beats_due = 0.0
            while not self._stopped.wait(CANCEL_POLL_S):
                beats_due += CANCEL_POLL_S
                beat = beats_due >= self.interval
                if beat:
                    beats_due = 0.0
                self._tick(beat)

    def _tick(self, beat):
        # Its own short connection, never the run's session: the run may be mid-transaction.
        try:
            with db.engine.begin() as connection:
                if beat:
                    connection.execute(update(Execution).where(Execution.id == self.execution_id)
                                       .values(heartbeat_at=utcnow()))
                requested = connection.scalar(select(Execution.cancel_requested_at)
                                              .where(Execution.id == self.execution_id))
        except SQLAlchemyError:
            # A missed beat is harmless; only a long silence marks the execution crashed.
            log.warning("heartbeat of execution %s failed", self.execution_id, exc_info=True)
            return
        if requested is not None and not self.token.cancelled:
            self.token.cancel(STOP_REASON)
