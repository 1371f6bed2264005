"""Dispatchers: the inline thread pool (bound, FIFO backlog, manual runs exempt) and queue mode
through real `worker.py` processes on the real Redis; a job delivered twice runs once."""
import time

import pytest
from rq import Queue, SimpleWorker

import app as app_factory
from app.config import ConfigError, load_config
from app.engine.states import TERMINAL
from app.extensions import db
from app.models import Execution, Workflow
from app.runtime import jobs
from app.runtime.dispatch import JOB_FUNCTION, QUEUE_NAME, InlineDispatcher, QueueDispatcher, get_dispatcher
from app.runtime.executions import claim_execution, create_execution
from tests import services
from tests.conftest import create_user, make_app
from tests.helpers import login
from tests.test_executions_web import chain, execute, execution_id_from, make_workflow, node
from tests.test_worker import redis_conn, run_worker  # noqa: F401  (redis_conn is a fixture)

SLEEP = {**node("Sleep", "code", 200, mode="runOnceForAllItems", language="python",
                pythonCode="import time\ntime.sleep(0.5)\nreturn items"), "typeVersion": 2}


def slow_workflow(app):
    return make_workflow(app, chain("Slow", node("Start", "manualTrigger"), SLEEP))


def add_executions(app, workflow_id, count, status="new"):
    with app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        executions = [create_execution(workflow.content(), mode="webhook", workflow=workflow, status=status)
                      for _ in range(count)]
        db.session.commit()
        return [execution.id for execution in executions]


def statuses(app, ids):
    with app.app_context():
        rows = db.session.query(Execution.id, Execution.status).filter(Execution.id.in_(ids))
        return dict(rows.all())


def sample_until_ended(app, ids):
    """Every status seen while polling, one dict per poll, until all have ended (bounded)."""
    samples = []
    for _ in range(3000):
        samples.append(statuses(app, ids))
        if all(status in TERMINAL for status in samples[-1].values()):
            return samples
        time.sleep(0.01)
    pytest.fail(f"executions did not end: {samples[-1]}")


def start_order(app, ids):
    with app.app_context():
        rows = db.session.query(Execution.id).filter(Execution.id.in_(ids)).order_by(Execution.started_at)
        return [id_ for (id_,) in rows]


@pytest.fixture
def inline_app(sqlite_url):
    def build(concurrency):
        app = make_app(sqlite_url, EXECUTIONS_CONCURRENCY=concurrency)
        create_user(app)
        return app
    return build


# -- claiming --------------------------------------------------------------------------------------

def test_only_the_first_claim_wins(app_ctx, owner):
    workflow_id = make_workflow(app_ctx, chain("Claim", node("Start", "manualTrigger")))
    queued, new, finished = (add_executions(app_ctx, workflow_id, 1, status)[0]
                             for status in ("queued", "new", "success"))
    assert claim_execution(queued) and not claim_execution(queued)
    assert claim_execution(new) and not claim_execution(finished)
    execution = db.session.get(Execution, queued)
    assert execution.status == "running" and execution.started_at is not None


# -- inline ----------------------------------------------------------------------------------------

def test_inline_pool_runs_at_most_its_size_at_once(inline_app):
    app = inline_app(2)
    ids = add_executions(app, slow_workflow(app), 5)
    with app.app_context():
        for id_ in ids:
            get_dispatcher().dispatch(id_)
    samples = sample_until_ended(app, ids)
    running = [sum(status == "running" for status in sample.values()) for sample in samples]
    assert max(running) == 2, running
    assert set(samples[-1].values()) == {"success"}


def test_inline_backlog_starts_in_dispatch_order(inline_app):
    app = inline_app(1)
    ids = add_executions(app, slow_workflow(app), 4)
    order = [ids[2], ids[0], ids[3], ids[1]]
    with app.app_context():
        for id_ in order:
            get_dispatcher().dispatch(id_)
    sample_until_ended(app, ids)
    assert start_order(app, ids) == order


def test_manual_runs_do_not_wait_for_the_pool(inline_app):
    app = inline_app(1)
    busy, backlogged, manual = add_executions(app, slow_workflow(app), 3)
    with app.app_context():
        dispatcher = get_dispatcher()
        dispatcher.dispatch(busy)
        dispatcher.dispatch(backlogged)
        dispatcher.dispatch(manual, manual=True)
    sample_until_ended(app, [busy, backlogged, manual])
    assert start_order(app, [backlogged, manual]) == [manual, backlogged]


def test_the_mode_picks_the_dispatcher_without_connecting_to_redis(sqlite_url):
    assert isinstance(make_app(sqlite_url).extensions["dispatcher"], InlineDispatcher)
    # Nothing listens on port 1: creating the app must not try.
    queued = make_app(sqlite_url, EXECUTIONS_MODE="queue", REDIS_URL="redis://127.0.0.1:1/0")
    dispatcher = queued.extensions["dispatcher"]
    assert isinstance(dispatcher, QueueDispatcher) and dispatcher._queue is None


# -- queue -----------------------------------------------------------------------------------------

def test_an_execution_queued_from_the_web_runs_in_a_worker(redis_conn, sqlite_url, tmp_path):  # noqa: F811
    app = make_app(sqlite_url, EXECUTIONS_MODE="queue", REDIS_URL=services.REDIS_URL)
    create_user(app)
    client = app.test_client()
    login(client)
    workflow_id = make_workflow(app, chain(
        "Queued", node("Start", "manualTrigger"), node("Pass", "noOp", 200), pinData={"Start": [{"json": {"n": 1}}]},
    ))
    execution_id = execution_id_from(execute(client, workflow_id))
    assert statuses(app, [execution_id]) == {execution_id: "queued"}
    assert Queue(QUEUE_NAME, connection=redis_conn).count == 1

    result = run_worker(tmp_path, sqlite_url, "--burst", "--concurrency", "1")
    assert result.returncode == 0, result.stderr
    with app.app_context():
        execution = db.session.get(Execution, execution_id)
        assert execution.status == "success"
        run_data = execution.data.value["runData"]
        assert run_data["Pass"][0]["data"]["main"][0] == [{"json": {"n": 1}, "pairedItem": {"item": 0}}]


def test_a_job_delivered_twice_runs_once(redis_conn, app, owner, sqlite_url, tmp_path):  # noqa: F811
    [execution_id] = add_executions(app, make_workflow(app, chain("Twice", node("Start", "manualTrigger"))),
                                    1, status="queued")
    queue = Queue(QUEUE_NAME, connection=redis_conn)
    jobs = [queue.enqueue(JOB_FUNCTION, execution_id) for _ in range(2)]
    result = run_worker(tmp_path, sqlite_url, "--burst", "--concurrency", "1")
    assert result.returncode == 0, result.stderr
    for job in jobs:
        job.refresh()
    assert [job.return_value() for job in jobs] == ["success", None]
    assert statuses(app, [execution_id]) == {execution_id: "success"}


def test_worker_concurrency_runs_a_pool_of_workers(redis_conn, app, owner, sqlite_url, tmp_path):  # noqa: F811
    ids = add_executions(app, slow_workflow(app), 4, status="queued")
    queue = Queue(QUEUE_NAME, connection=redis_conn)
    jobs = [queue.enqueue(JOB_FUNCTION, id_) for id_ in ids]
    result = run_worker(tmp_path, sqlite_url, "--burst", "--concurrency", "2")
    assert result.returncode == 0, result.stderr
    assert set(statuses(app, ids).values()) == {"success"}
    for job in jobs:
        job.refresh()
    assert len({job.worker_name for job in jobs}) == 2


def test_concurrency_defaults_to_five_and_must_be_positive(monkeypatch, tmp_path):
    monkeypatch.delenv("EXECUTIONS_CONCURRENCY", raising=False)
    assert load_config(str(tmp_path))["EXECUTIONS_CONCURRENCY"] == 5
    monkeypatch.setenv("EXECUTIONS_CONCURRENCY", "0")
    with pytest.raises(ConfigError, match="EXECUTIONS_CONCURRENCY must be at least 1, got 0"):
        load_config(str(tmp_path))


def test_a_job_outside_worker_py_makes_its_app_once(redis_conn, app, owner, sqlite_url, monkeypatch):  # noqa: F811
    ids = add_executions(app, make_workflow(app, chain("Plain RQ", node("Start", "manualTrigger"))), 2,
                         status="queued")
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setattr(jobs, "_app", None)
    queue = Queue(QUEUE_NAME, connection=redis_conn)
    for id_ in ids:
        queue.enqueue(JOB_FUNCTION, id_)
    created, real_create_app = [], app_factory.create_app
    monkeypatch.setattr(app_factory, "create_app", lambda: created.append(real_create_app()) or created[-1])
    SimpleWorker([queue], connection=redis_conn).work(burst=True)
    assert len(created) == 1 and jobs._app is created[0]
    assert set(statuses(app, ids).values()) == {"success"}
    with created[0].app_context():
        db.engine.dispose()
