"""Stopping and recovering executions across real processes: a stop request reaches a run in a
`worker.py` subprocess, kill -9 of a worker leads to `crashed` (and, when enabled, one re-run),
a job Redis lost is enqueued again, and SIGTERM lets the running execution finish."""
import os
import signal
import subprocess
import sys
import time

import pytest
from rq.job import Job

from app.config import load_config
from app.engine.states import TERMINAL
from app.extensions import db
from app.models import Execution
from app.models.base import utcnow
from app.runtime.dispatch import QueueDispatcher, get_dispatcher, job_id
from app.runtime.executions import request_cancel, run_in_background
from app.runtime.reconciler import reconcile, schedule_reconciler
from tests import services
from tests.conftest import _dispose, _truncate_all as truncate_all, create_user, make_app
from tests.test_dispatch import add_executions, statuses
from tests.test_executions_web import chain, make_workflow, node
from tests.test_worker import ROOT, redis_conn, run_worker  # noqa: F401  (redis_conn is a fixture)


def sleeper(name, seconds, x):
    return {**node(name, "code", x, mode="runOnceForAllItems", language="python",
                   pythonCode=f"import time\ntime.sleep({seconds})\nreturn items"), "typeVersion": 2}


def sleepy_workflow(app, steps, seconds):
    nodes = [sleeper(f"Sleep {i}", seconds, 200 * i) for i in range(1, steps + 1)]
    return make_workflow(app, chain("Sleepy", node("Start", "manualTrigger"), *nodes))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request):
    """The database the test and its worker processes share: a SQLite file, or the real PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    url = request.getfixturevalue("postgres_url")
    cleaner = make_app(url)
    truncate_all(cleaner)
    _dispose(cleaner)
    return url


@pytest.fixture
def queue_app(db_url, redis_conn):  # noqa: F811
    app = make_app(db_url, EXECUTIONS_MODE="queue", REDIS_URL=services.REDIS_URL,
                   EXECUTIONS_CRASH_AFTER_S=1, EXECUTIONS_REQUEUE_CRASHED=True)
    create_user(app)
    yield app
    _dispose(app)


def start_worker(tmp_path, db_url, concurrency):
    env = {**os.environ, "REDIS_URL": services.REDIS_URL, "DATABASE_URL": db_url,
           "INSTANCE_PATH": str(tmp_path)}
    # A session of its own: RQ forks a scheduler child that outlives a killed worker, and the
    # teardown ends the whole group.
    with open(tmp_path / "worker.log", "ab") as log:
        return subprocess.Popen([sys.executable, "worker.py", "--concurrency", concurrency], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


@pytest.fixture
def worker(tmp_path, db_url):
    started = []

    def start(concurrency="1"):
        started.append(start_worker(tmp_path, db_url, concurrency))
        return started[-1]
    yield start
    for process in started:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)


def queue_one(app, workflow_id):
    [execution_id] = add_executions(app, workflow_id, 1, status="queued")
    with app.app_context():
        get_dispatcher().dispatch(execution_id)
    return execution_id


def wait_for_status(app, execution_id, wanted, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = statuses(app, [execution_id])[execution_id]
        if status in wanted:
            return status
        time.sleep(0.05)
    pytest.fail(f"execution {execution_id} is {status}, never {wanted}")


def test_stop_reaches_an_execution_running_in_a_worker_process(queue_app, worker):
    execution_id = queue_one(queue_app, sleepy_workflow(queue_app, steps=20, seconds=0.3))
    worker()
    wait_for_status(queue_app, execution_id, {"running"})
    with queue_app.app_context():
        requested = time.monotonic()
        assert request_cancel(execution_id) == "running"
    assert wait_for_status(queue_app, execution_id, TERMINAL, timeout=10) == "canceled"
    # One heartbeat poll (1 s) plus the node in progress (0.3 s), with room for a slow machine.
    assert time.monotonic() - requested < 3
    with queue_app.app_context():
        execution = db.session.get(Execution, execution_id)
        assert "canceled by a user" in execution.data.value["error"]["message"]
        assert len(execution.data.value["runData"]) < 21


def test_stop_of_a_queued_execution_cancels_it_before_any_worker_runs_it(queue_app, tmp_path, db_url):
    execution_id = queue_one(queue_app, sleepy_workflow(queue_app, steps=1, seconds=0))
    with queue_app.app_context():
        assert request_cancel(execution_id) == "canceled"
    assert run_worker(tmp_path, db_url, "--burst", "--concurrency", "1").returncode == 0
    assert statuses(queue_app, [execution_id]) == {execution_id: "canceled"}


def test_a_killed_worker_leaves_a_crashed_execution_that_runs_again_once(queue_app, worker, tmp_path, db_url):
    execution_id = queue_one(queue_app, sleepy_workflow(queue_app, steps=1, seconds=3))
    process = worker()
    wait_for_status(queue_app, execution_id, {"running"})
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    with queue_app.app_context():
        assert reconcile().crashed == []  # its last heartbeat is still recent
    time.sleep(1.2)
    with queue_app.app_context():
        result = reconcile()
        assert result.crashed == [execution_id]
        [rerun_id] = result.rerun
        rerun = db.session.get(Execution, rerun_id)
        assert (rerun.mode, rerun.retry_of, rerun.status) == ("retry", execution_id, "queued")
    assert statuses(queue_app, [execution_id]) == {execution_id: "crashed"}
    assert run_worker(tmp_path, db_url, "--burst", "--concurrency", "1").returncode == 0
    assert statuses(queue_app, [rerun_id]) == {rerun_id: "success"}


def test_a_crashed_rerun_is_not_run_a_third_time(queue_app):
    workflow_id = sleepy_workflow(queue_app, steps=1, seconds=0)
    with queue_app.app_context():
        [first, second] = add_executions(queue_app, workflow_id, 2, status="running")
        db.session.get(Execution, first).status = "crashed"
        db.session.get(Execution, second).retry_of = first
        db.session.get(Execution, second).heartbeat_at = utcnow().replace(year=2000)
        db.session.commit()
        result = reconcile()
        assert (result.crashed, result.rerun) == ([second], [])


def test_crashed_executions_are_not_run_again_unless_the_setting_says_so(queue_app):
    queue_app.config["EXECUTIONS_REQUEUE_CRASHED"] = False
    with queue_app.app_context():
        [execution_id] = add_executions(queue_app, sleepy_workflow(queue_app, 1, 0), 1, status="running")
        db.session.get(Execution, execution_id).heartbeat_at = utcnow().replace(year=2000)
        db.session.commit()
        assert (reconcile().crashed, Execution.query.count()) == ([execution_id], 1)


def test_a_queued_execution_whose_job_redis_lost_is_enqueued_again(queue_app, redis_conn, tmp_path, db_url):  # noqa: F811
    workflow_id = sleepy_workflow(queue_app, steps=1, seconds=0)
    lost, kept = queue_one(queue_app, workflow_id), queue_one(queue_app, workflow_id)
    Job.fetch(job_id(lost), connection=redis_conn).delete()
    time.sleep(1.2)
    with queue_app.app_context():
        assert reconcile().requeued == [lost]
        assert reconcile().requeued == []  # now Redis has it again
        assert get_dispatcher().has_job(kept)
    assert run_worker(tmp_path, db_url, "--burst", "--concurrency", "1").returncode == 0
    assert statuses(queue_app, [lost, kept]) == {lost: "success", kept: "success"}


def test_queued_executions_survive_redis_losing_all_its_data(queue_app, redis_conn, tmp_path, db_url):  # noqa: F811
    workflow_id = sleepy_workflow(queue_app, steps=1, seconds=0)
    ids = [queue_one(queue_app, workflow_id) for _ in range(3)]
    redis_conn.flushdb()  # what a restart without persistence leaves
    time.sleep(1.2)
    with queue_app.app_context():
        assert sorted(reconcile(QueueDispatcher(services.REDIS_URL)).requeued) == ids
    assert run_worker(tmp_path, db_url, "--burst", "--concurrency", "1").returncode == 0
    assert set(statuses(queue_app, ids).values()) == {"success"}


@pytest.mark.parametrize("concurrency", ["1", "2"])  # one worker, and a pool of worker processes
def test_sigterm_lets_the_running_execution_finish(queue_app, worker, concurrency):
    execution_id = queue_one(queue_app, sleepy_workflow(queue_app, steps=1, seconds=2))
    process = worker(concurrency)
    wait_for_status(queue_app, execution_id, {"running"})
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert statuses(queue_app, [execution_id]) == {execution_id: "success"}


def test_the_cli_stops_executions_and_reconciles(queue_app):
    workflow_id = sleepy_workflow(queue_app, steps=1, seconds=0)
    queued, running = add_executions(queue_app, workflow_id, 2, status="queued")
    with queue_app.app_context():
        db.session.get(Execution, running).status = "running"
        db.session.commit()
    runner = queue_app.test_cli_runner()
    assert runner.invoke(args=["executions", "stop", str(queued)]).output == f"Execution {queued}: canceled\n"
    assert "stop requested" in runner.invoke(args=["executions", "stop", str(running)]).output
    assert "No execution with the id 999" in runner.invoke(args=["executions", "stop", "999"]).output
    result = runner.invoke(args=["executions", "reconcile"])
    assert result.output == "Crashed 0, re-ran 0, re-enqueued 0.\n"
    with queue_app.app_context():
        assert db.session.get(Execution, running).cancel_requested_at is not None


def test_the_heartbeat_keeps_a_long_run_from_being_marked_crashed(sqlite_url):
    app = make_app(sqlite_url, EXECUTIONS_HEARTBEAT_S=1, EXECUTIONS_CRASH_AFTER_S=1)
    create_user(app)
    [execution_id] = add_executions(app, sleepy_workflow(app, steps=1, seconds=3), 1)
    with app.app_context():
        thread = run_in_background(app, execution_id)
        time.sleep(2.5)
        assert reconcile().crashed == []
        thread.join(timeout=10)
    assert statuses(app, [execution_id]) == {execution_id: "success"}


def test_an_inline_web_process_reconciles_in_a_thread(sqlite_url):
    app = make_app(sqlite_url, EXECUTIONS_RECONCILE_INTERVAL_S=1, EXECUTIONS_CRASH_AFTER_S=1)
    create_user(app)
    [execution_id] = add_executions(app, sleepy_workflow(app, steps=1, seconds=0), 1, status="running")
    app.test_client().get("/login")
    assert wait_for_status(app, execution_id, {"crashed"}, timeout=10) == "crashed"
    app.extensions["flowforge_reconciler"].stop()


def test_the_scheduler_job_follows_the_interval_setting(queue_app, redis_conn):  # noqa: F811
    from rq_scheduler import Scheduler

    scheduler = Scheduler(queue_name="executions", connection=redis_conn)
    queue_app.config["EXECUTIONS_RECONCILE_INTERVAL_S"] = 30
    job = schedule_reconciler(scheduler, queue_app)
    assert schedule_reconciler(scheduler, queue_app) == job and job in scheduler
    queue_app.config["EXECUTIONS_RECONCILE_INTERVAL_S"] = 0
    assert schedule_reconciler(scheduler, queue_app) is None and job not in scheduler


def test_by_default_a_silent_execution_is_crashed_within_a_minute(monkeypatch, tmp_path):
    for name in ("EXECUTIONS_CRASH_AFTER_S", "EXECUTIONS_RECONCILE_INTERVAL_S", "EXECUTIONS_REQUEUE_CRASHED"):
        monkeypatch.delenv(name, raising=False)
    config = load_config(str(tmp_path))
    assert config["EXECUTIONS_CRASH_AFTER_S"] + config["EXECUTIONS_RECONCILE_INTERVAL_S"] <= 60
    assert config["EXECUTIONS_REQUEUE_CRASHED"] is False
