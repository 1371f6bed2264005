"""worker.py runs a real RQ worker (and rq-scheduler) against the real Redis."""
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue

from tests import services

ROOT = Path(__file__).parent.parent


@pytest.fixture
def redis_conn():
    services.require_redis()
    conn = Redis.from_url(services.REDIS_URL)
    conn.flushdb()
    yield conn
    conn.flushdb()


def run_worker(tmp_path, sqlite_url, *args, redis_url=services.REDIS_URL):
    env = {**os.environ, "REDIS_URL": redis_url, "DATABASE_URL": sqlite_url, "INSTANCE_PATH": str(tmp_path)}
    return subprocess.run([sys.executable, "worker.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_worker_runs_a_job_from_the_executions_queue(redis_conn, tmp_path, sqlite_url):
    job = Queue("executions", connection=redis_conn).enqueue("math.factorial", 5)
    result = run_worker(tmp_path, sqlite_url, "--burst")
    assert result.returncode == 0, result.stderr
    job.refresh()
    assert job.get_status() == "finished"
    assert job.return_value() == 120


def test_scheduler_moves_due_jobs_to_the_queue(redis_conn, tmp_path, sqlite_url):
    from rq_scheduler import Scheduler

    due = datetime.now(timezone.utc) - timedelta(seconds=1)
    job = Scheduler(queue_name="executions", connection=redis_conn).enqueue_at(due, "math.factorial", 4)
    result = run_worker(tmp_path, sqlite_url, "--scheduler", "--burst")
    assert result.returncode == 0, result.stderr
    assert job.id in Queue("executions", connection=redis_conn).job_ids
    scheduled = [j.id for j in Scheduler(queue_name="executions", connection=redis_conn).get_jobs()]
    assert any(job_id.startswith("flowforge-periodic-prune-") for job_id in scheduled), scheduled
    assert any(job_id.startswith("flowforge-periodic-reconcile-") for job_id in scheduled), scheduled
    run_worker(tmp_path, sqlite_url, "--burst")
    job.refresh()
    assert job.return_value() == 24


def test_worker_without_redis_url_says_what_is_missing(tmp_path, sqlite_url):
    result = run_worker(tmp_path, sqlite_url, "--burst", redis_url="")
    assert result.returncode == 1
    assert "worker.py needs REDIS_URL" in result.stderr
