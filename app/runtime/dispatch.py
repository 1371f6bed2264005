"""Dispatchers: hand a stored execution to whatever runs it, by id.

`inline` runs executions on a bounded pool of threads in this (web) process; `queue` puts the id
on the RQ `executions` queue for `worker.py`. Either way the execution row exists before it is
dispatched, and `run_execution` claims it, so dispatching an id twice still runs it once.
"""
import queue
import threading

from flask import current_app

from app.runtime.executions import run_in_app, run_in_background

QUEUE_NAME = "executions"
JOB_FUNCTION = "app.runtime.jobs.run_execution_job"
LIVE_JOB_STATUSES = frozenset({"queued", "started", "deferred", "scheduled"})


def job_id(execution_id):
    return f"execution-{execution_id}"


class Dispatcher:
    """Starts stored executions somewhere; `manual` runs are exempt from the concurrency limit."""

    def dispatch(self, execution_id, manual=False):
        raise NotImplementedError

    @property
    def initial_status(self):
        """The status a new execution is written with before it is dispatched."""
        return "new"


class InlineDispatcher(Dispatcher):
    """`size` threads share a FIFO backlog; manual runs get a thread of their own at once.

    The threads are daemons, started on first use: the process exits without working off the
    backlog, and an execution it cuts off stays `running` as after a crash, for DESIGN.md's
    reconciler to mark `crashed`.
    """

    def __init__(self, app, size):
        self.app = app
        self.size = size
        self._backlog = queue.Queue()
        self._threads = []
        self._start_lock = threading.Lock()

    def dispatch(self, execution_id, manual=False):
        if manual:
            run_in_background(self.app, execution_id)
            return
        self._start_pool()
        self._backlog.put(execution_id)

    def _start_pool(self):
        with self._start_lock:
            while len(self._threads) < self.size:
                self._threads.append(self._spawn(self._serve, f"executions-{len(self._threads) + 1}"))

    def _serve(self):
        while True:
            run_in_app(self.app, self._backlog.get())

    @staticmethod
    def _spawn(target, name):
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        return thread


class QueueDispatcher(Dispatcher):
    """Enqueues the id on RQ; the Redis connection is opened on the first dispatch, not before."""

    def __init__(self, redis_url):
        self.redis_url = redis_url
        self._queue = None

    @property
    def initial_status(self):
        return "queued"

    def dispatch(self, execution_id, manual=False):
        # Manual runs are queued too: the web process never runs workflows in queue mode. The
        # worker's --concurrency is its limit; there is no second one to be exempt from.
        # No RQ timeout: how long a workflow may run is the workflow's business, not transport's.
        # The job id is the execution's, so the reconciler can tell whether Redis still has it.
        self.queue.enqueue(JOB_FUNCTION, execution_id, job_timeout=-1, job_id=job_id(execution_id))

    def has_job(self, execution_id):
        """Whether Redis still holds a job that will run the execution (waiting or running)."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        try:
            job = Job.fetch(job_id(execution_id), connection=self.queue.connection)
        except NoSuchJobError:
            return False
        status = job.get_status(refresh=False)
        if status == "queued":
            # A job can outlive its place in the queue's list (a partial restore of Redis).
            return self.queue.connection.lpos(self.queue.key, job.id) is not None
        return status in LIVE_JOB_STATUSES

    @property
    def queue(self):
        if self._queue is None:
            from redis import Redis
            from rq import Queue

            self._queue = Queue(QUEUE_NAME, connection=Redis.from_url(self.redis_url))
        return self._queue


def init_dispatcher(app):
    if app.config["EXECUTIONS_MODE"] == "queue":
        dispatcher = QueueDispatcher(app.config["REDIS_URL"])
    else:
        dispatcher = InlineDispatcher(app, app.config["EXECUTIONS_CONCURRENCY"])
    app.extensions["dispatcher"] = dispatcher
    return dispatcher


def get_dispatcher():
    return current_app.extensions["dispatcher"]
