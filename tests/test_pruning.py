"""Pruning finished executions by age and by count, on SQLite and PostgreSQL."""
import os
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from app.extensions import db
from app.models import Execution, ExecutionData, User
from app.models.base import utcnow
from app.models.workflow_store import create_workflow
from app.runtime import pruning
from app.runtime.pruning import Pruner, periodic_job_id, prune_executions, schedule_periodic_jobs
from tests import services
from tests.conftest import create_user, make_app

NOW = utcnow()


@pytest.fixture
def db_app(any_db_app):
    create_user(any_db_app)
    with any_db_app.app_context():
        yield any_db_app


def workflow_id():
    workflow, _ = create_workflow({"name": "Pruned", "nodes": [], "connections": {}}, User.query.first())
    db.session.commit()
    return workflow.id


def add(workflow, status="success", hours_ago=0, **fields):
    """A stored execution that stopped `hours_ago` hours ago, with run data."""
    when = NOW - timedelta(hours=hours_ago)
    execution = Execution(workflow_id=workflow, status=status, mode="manual", created_at=when,
                          started_at=when, stopped_at=None if status in ("running", "queued", "waiting") else when,
                          **fields)
    execution.data = ExecutionData(value={"runData": {}})
    db.session.add(execution)
    db.session.commit()
    return execution.id


def remaining():
    db.session.expire_all()
    return sorted(db.session.scalars(select(Execution.id)))


def data_rows():
    return db.session.scalar(select(func.count()).select_from(ExecutionData))


def test_prunes_finished_executions_older_than_the_max_age_with_their_data(db_app):
    wf = workflow_id()
    old = [add(wf, status, hours_ago=400) for status in ("success", "error", "canceled", "crashed")]
    running = add(wf, "running", hours_ago=400)
    queued = add(wf, "queued", hours_ago=400)
    waiting = add(wf, "waiting", hours_ago=400)
    young = add(wf, "success", hours_ago=300)

    result = prune_executions(max_age_hours=336, max_count=0, batch_size=3, now=NOW)

    assert (result.by_age, result.by_count) == (len(old), 0)
    assert remaining() == sorted([running, queued, waiting, young])
    assert data_rows() == 4


def test_a_crashed_execution_without_a_stop_time_ages_from_its_creation(db_app):
    wf = workflow_id()
    crashed = add(wf, "crashed", hours_ago=400)
    db.session.get(Execution, crashed).stopped_at = None
    db.session.commit()
    assert prune_executions(max_age_hours=336, max_count=0, now=NOW).by_age == 1


def test_prunes_the_oldest_finished_executions_beyond_the_max_count_in_batches(db_app):
    wf = workflow_id()
    running = add(wf, "running", hours_ago=200)  # the oldest of all, but still running
    ids = [add(wf, hours_ago=100 - i) for i in range(12)]

    result = prune_executions(max_age_hours=0, max_count=5, batch_size=2, now=NOW)

    # The newest five are kept; of the older ones everything but the running one goes.
    assert result.by_count == 7
    assert remaining() == sorted([running] + ids[-5:])
    assert data_rows() == 6


def test_the_settings_are_the_defaults(db_app):
    wf = workflow_id()
    add(wf, hours_ago=337)
    kept = add(wf, hours_ago=335)
    db_app.config["EXECUTIONS_DATA_PRUNE_MAX_COUNT"] = 10_000
    assert db_app.config["EXECUTIONS_DATA_MAX_AGE"] == 336
    assert prune_executions().by_age == 1
    assert remaining() == [kept]


def test_a_retry_outlives_the_execution_it_retried(db_app):
    wf = workflow_id()
    original = add(wf, "error", hours_ago=400)
    retry = add(wf, "success", hours_ago=1, retry_of=original)
    prune_executions(max_age_hours=336, max_count=0, now=NOW)
    assert remaining() == [retry]
    assert db.session.get(Execution, retry).retry_of is None


def test_nothing_to_prune_is_a_no_op(db_app):
    assert prune_executions(max_age_hours=1, max_count=1, now=NOW).total == 0


def test_the_cli_prunes_with_the_settings_or_the_options_given(db_app):
    wf = workflow_id()
    add(wf, hours_ago=400)
    newer = [add(wf, hours_ago=10 - i) for i in range(3)]
    runner = db_app.test_cli_runner()
    result = runner.invoke(args=["executions", "prune"])
    assert result.exit_code == 0 and "Pruned 1 executions (1 by age, 0 by count)." in result.output
    result = runner.invoke(args=["executions", "prune", "--max-age", "0", "--max-count", "1"])
    assert "Pruned 2 executions (0 by age, 2 by count)." in result.output
    assert remaining() == newer[-1:]


def test_sqlite_databases_are_created_with_incremental_auto_vacuum(app_ctx):
    assert db.session.execute(text("PRAGMA auto_vacuum")).scalar() == 2  # INCREMENTAL


def test_pruning_gives_sqlite_pages_back(owner, app_ctx):
    wf = workflow_id()
    for _ in range(30):
        execution = Execution(workflow_id=wf, status="success", stopped_at=NOW - timedelta(days=30))
        execution.data = ExecutionData(blob=os.urandom(20_000))  # incompressible: many pages
        db.session.add(execution)
    db.session.commit()
    pages_before = db.session.execute(text("PRAGMA page_count")).scalar()

    assert prune_executions(max_age_hours=1, max_count=0).by_age == 30

    db.session.commit()
    assert db.session.execute(text("PRAGMA freelist_count")).scalar() == 0
    assert db.session.execute(text("PRAGMA page_count")).scalar() < pages_before - 100


def test_the_inline_pruner_thread_prunes_every_interval(app, owner):
    with app.app_context():
        add(workflow_id(), hours_ago=1000)
    pruner = Pruner(app, interval=0.05).start()
    try:
        for _ in range(200):
            with app.app_context():
                if not remaining():
                    break
            pruner.thread.join(0.02)
    finally:
        pruner.stop()
    with app.app_context():
        assert remaining() == []


def test_the_pruner_starts_on_the_first_request_in_inline_mode_only(sqlite_url):
    inline = make_app(sqlite_url, EXECUTIONS_DATA_PRUNE=True)
    assert pruning._PRUNER not in inline.extensions
    inline.test_client().get("/healthz")
    pruner = inline.extensions[pruning._PRUNER]
    assert pruner.thread.is_alive() and pruner.interval == 3600
    pruner.stop()

    off = make_app(sqlite_url)
    off.test_client().get("/healthz")
    assert pruning._PRUNER not in off.extensions


def _pruning_jobs(scheduler):
    return [job for job in scheduler.get_jobs() if job.id.startswith(pruning._JOB_PREFIX)]


def test_queue_mode_registers_one_periodic_job_with_a_stable_id(sqlite_url):
    services.require_redis()
    from redis import Redis
    from rq_scheduler import Scheduler

    app = make_app(sqlite_url, EXECUTIONS_MODE="queue", REDIS_URL=services.REDIS_URL,
                   EXECUTIONS_DATA_PRUNE=True, EXECUTIONS_PRUNE_INTERVAL_S=600)
    connection = Redis.from_url(services.REDIS_URL)
    scheduler = Scheduler(queue_name="executions", connection=connection)
    for job in _pruning_jobs(scheduler):
        scheduler.cancel(job)
    try:
        first = schedule_periodic_jobs(scheduler, app)
        assert schedule_periodic_jobs(scheduler, app) == first  # a restart adds nothing
        assert [job.id for job in _pruning_jobs(scheduler)] == [first]
        assert first == periodic_job_id(pruning.PRUNE_JOB, 600)

        app.config["EXECUTIONS_PRUNE_INTERVAL_S"] = 60
        second = schedule_periodic_jobs(scheduler, app)
        jobs = _pruning_jobs(scheduler)
        assert second != first and [job.id for job in jobs] == [second]
        assert jobs[0].func_name == pruning.PRUNE_JOB and jobs[0].meta["interval"] == 60

        app.config["EXECUTIONS_DATA_PRUNE"] = False
        assert schedule_periodic_jobs(scheduler, app) is None
        assert _pruning_jobs(scheduler) == []
    finally:
        for job in _pruning_jobs(scheduler):
            scheduler.cancel(job)
            job.delete()
        connection.close()


def test_the_rq_job_prunes_in_the_workers_app_context(app, owner):
    """As worker.py runs it: a worker inside the app context picks the job up by its dotted name."""
    services.require_redis()
    from redis import Redis
    from rq import Queue, SimpleWorker

    connection = Redis.from_url(services.REDIS_URL)
    queue = Queue("flowforge-test-pruning", connection=connection)
    try:
        with app.app_context():
            add(workflow_id(), hours_ago=1000)
            job = queue.enqueue(pruning.PRUNE_JOB)
            SimpleWorker([queue], connection=connection).work(burst=True)
            assert job.return_value() == {"by_age": 1, "by_count": 0}
            assert remaining() == []
    finally:
        queue.delete(delete_jobs=True)
        connection.close()
