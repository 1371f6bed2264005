"""Pruning: delete finished executions older than the max age or beyond the max count.

Rows go in batches, one short transaction each, so neither SQLite's single writer nor PostgreSQL's
row locks are held for long while executions keep being written. Only finished executions are
ever deleted: a running, queued or waiting one is still somebody's work. On SQLite the freed pages
are handed back to the file system with an incremental vacuum afterwards.

The same `prune_executions` runs from three places: a daemon thread in the web process (inline
mode), a periodic rq-scheduler job (queue mode, see `schedule_periodic_jobs`) and
`flask executions prune`.
"""
import hashlib
import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from app.engine.states import TERMINAL
from app.extensions import db
from app.models import Execution, ExecutionData
from app.models.base import utcnow

log = logging.getLogger(__name__)

BATCH_SIZE = 500
_PRUNER = "flowforge_pruner"


@dataclass
class PruneResult:
    by_age: int = 0
    by_count: int = 0

    @property
    def total(self):
        return self.by_age + self.by_count


def prune_executions(max_age_hours=None, max_count=None, batch_size=BATCH_SIZE, now=None):
    """Delete finished executions (and their data) older than `max_age_hours` hours, then the
    oldest finished ones beyond the newest `max_count` executions. 0 disables either rule;
    None means the app's setting."""
    config = current_app.config
    max_age_hours = config["EXECUTIONS_DATA_MAX_AGE"] if max_age_hours is None else max_age_hours
    max_count = config["EXECUTIONS_DATA_PRUNE_MAX_COUNT"] if max_count is None else max_count
    result = PruneResult()
    if max_age_hours:
        cutoff = (now or utcnow()) - timedelta(hours=max_age_hours)
        # An execution that crashed may have no stop time; its creation time stands in.
        finished_at = func.coalesce(Execution.stopped_at, Execution.created_at)
        result.by_age = _delete_in_batches(finished_at < cutoff, batch_size)
    if max_count:
        newest_pruned = _newest_beyond(max_count)
        if newest_pruned is not None:
            result.by_count = _delete_in_batches(Execution.id <= newest_pruned, batch_size)
    if result.total:
        _reclaim_space()
    return result


def _newest_beyond(max_count):
    """The id of the newest execution that is not among the newest `max_count`, or None."""
    return db.session.scalar(
        select(Execution.id).order_by(Execution.id.desc()).offset(max_count).limit(1)
    )


def _delete_in_batches(condition, batch_size):
    deleted, after = 0, 0
    while True:
        # Resuming after the last id walks the table once in primary-key order instead of
        # rescanning from the start for every batch (kept rows would be read again each time).
        ids = db.session.scalars(
            select(Execution.id).where(condition, Execution.status.in_(TERMINAL), Execution.id > after)
            .order_by(Execution.id).limit(batch_size)
        ).all()
        if not ids:
            return deleted
        after = ids[-1]
        # The foreign key cascades too, but saying it keeps SQLite databases whose connection
        # lacks `foreign_keys=ON` (older tools, the sqlite3 shell) from keeping orphans.
        db.session.execute(delete(ExecutionData).where(ExecutionData.execution_id.in_(ids)))
        db.session.execute(delete(Execution).where(Execution.id.in_(ids)),
                           execution_options={"synchronize_session": False})
        db.session.commit()
        deleted += len(ids)


def _reclaim_space():
    """On SQLite, return free pages to the file system (needs auto_vacuum=INCREMENTAL, which new
    databases get from app.extensions; older ones need one full `VACUUM` first)."""
    if db.engine.dialect.name != "sqlite":
        return
    with db.engine.connect() as connection:
        # executescript steps the pragma to its end; a plain execute frees a single page.
        connection.connection.driver_connection.executescript("PRAGMA incremental_vacuum")


def prune_and_log():
    """One scheduled pruning run; failures are logged, never raised into the scheduler."""
    try:
        result = prune_executions()
    except Exception:
        log.exception("pruning executions failed")
        db.session.rollback()
        return None
    if result.total:
        log.info("pruned %d executions (%d by age, %d by count)", result.total, result.by_age, result.by_count)
    return result


# -- inline mode: a daemon thread in the web process -----------------------------------------------

class Periodic:
    """Runs `task` in an app context every `interval` seconds, the first time one interval after
    it starts, so a web process that restarts often does not run it on every start."""

    def __init__(self, app, interval, task, name):
        self.app = app
        self.interval = interval
        self.task = task
        self._stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self._stopped.set()
        self.thread.join()

    def _loop(self):
        while not self._stopped.wait(self.interval):
            with self.app.app_context():
                try:
                    self.task()
                finally:
                    db.session.remove()


class Pruner(Periodic):
    def __init__(self, app, interval):
        super().__init__(app, interval, prune_and_log, "execution-pruner")


def start_lazily(app, key, make):
    """Start `make()`'s thread on the app's first request, once. Lazily, so the CLI, migrations and
    worker.py (which create the app too) never start one."""
    lock = threading.Lock()

    @app.before_request
    def _start():
        if key in app.extensions:
            return
        with lock:
            if key not in app.extensions:
                app.extensions[key] = make().start()


def init_app(app):
    """Start the pruner on the first request of an inline-mode app with pruning on."""
    if app.config["EXECUTIONS_MODE"] != "inline" or not app.config["EXECUTIONS_DATA_PRUNE"]:
        return
    start_lazily(app, _PRUNER, lambda: Pruner(app, app.config["EXECUTIONS_PRUNE_INTERVAL_S"]))


# -- queue mode: a periodic rq-scheduler job --------------------------------------------------------

PRUNE_JOB = "app.runtime.pruning.prune_job"
_JOB_PREFIX = "flowforge-periodic-prune-"


def prune_job():
    """The RQ job; worker.py runs jobs inside its app context."""
    result = prune_and_log()
    return None if result is None else {"by_age": result.by_age, "by_count": result.by_count}


def periodic_job_id(func, interval, prefix=_JOB_PREFIX):
    """A stable id for a periodic job: the same definition always gets the same id, so a restarted
    scheduler finds its job instead of adding a second one, and a changed one gets a new id."""
    digest = hashlib.sha256(f"{func}|{interval}".encode()).hexdigest()[:16]
    return prefix + digest


def schedule_periodic_jobs(scheduler, app=None):
    """Register the pruning job with an rq_scheduler.Scheduler (`worker.py --scheduler`); jobs of
    an older definition are canceled. Returns the id of the job, or None when pruning is off."""
    config = (app or current_app).config
    interval = config["EXECUTIONS_PRUNE_INTERVAL_S"] if config["EXECUTIONS_DATA_PRUNE"] else None
    return schedule_periodic_job(scheduler, PRUNE_JOB, interval, _JOB_PREFIX)


def schedule_periodic_job(scheduler, func, interval, prefix):
    """Keep exactly one job of `func` every `interval` seconds (none when interval is None) among
    the scheduler's jobs whose ids start with `prefix`; returns its id."""
    wanted = None if interval is None else periodic_job_id(func, interval, prefix)
    for job in list(scheduler.get_jobs()):
        if job.id.startswith(prefix) and job.id != wanted:
            scheduler.cancel(job)
            job.delete()
    if wanted is not None and wanted not in scheduler:
        scheduler.schedule(
            scheduled_time=utcnow() + timedelta(seconds=interval), func=func, interval=interval,
            repeat=None, id=wanted, result_ttl=interval * 2,
        )
    return wanted
