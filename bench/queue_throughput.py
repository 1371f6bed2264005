"""Queue mode end to end: executions of Manual → Set → NoOp through 1, 2 and 4 worker processes.

Run from the project root: `.venv/bin/python bench/queue_throughput.py [--executions N] [--fork]`.
It needs the local Redis (db 14, flushed) and PostgreSQL (a throw-away database, dropped after),
the scaled setup queue mode is meant for. For each worker count it starts `worker.py
--concurrency N`, waits for its workers to register, enqueues every execution the way the web app
does (row written `queued`, then its id enqueued) and waits for all of them to end. Latency is
enqueue → `stopped_at`, so it includes the time spent waiting in the queue behind the others.
Lost = not ended `success`; duplicated = jobs that ran an execution someone else already had.
The last line is one JSON object with the figures.
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = tempfile.mkdtemp(prefix="flowforge-bench-")
os.environ["INSTANCE_PATH"] = INSTANCE
for name in ("DATABASE_URL", "REDIS_URL", "EXECUTIONS_MODE"):
    os.environ.pop(name, None)
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from redis import Redis  # noqa: E402
from rq import Worker  # noqa: E402
from rq.job import Job  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402

from app import create_app  # noqa: E402
from app.engine.states import TERMINAL  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Execution, User, Workflow  # noqa: E402
from app.models.workflow_store import create_workflow  # noqa: E402
from app.runtime.dispatch import JOB_FUNCTION, QueueDispatcher  # noqa: E402
from app.runtime.executions import create_execution  # noqa: E402

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
WORKER_COUNTS = (1, 2, 4)
TIMEOUT_S = 600
BATCH = 100

WORKFLOW = {
    "name": "Queue bench",
    "nodes": [
        {"id": "1", "name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1,
         "position": [0, 0], "parameters": {}},
        {"id": "2", "name": "Set", "type": "n8n-nodes-base.set", "typeVersion": 3.4, "position": [200, 0],
         "parameters": {"assignments": {"assignments": [
             {"id": "a", "name": "greeting", "value": "hello", "type": "string"}]}}},
        {"id": "3", "name": "Done", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "position": [400, 0],
         "parameters": {}},
    ],
    "connections": {
        "Start": {"main": [[{"node": "Set", "type": "main", "index": 0}]]},
        "Set": {"main": [[{"node": "Done", "type": "main", "index": 0}]]},
    },
}


def log(message):
    print(message, flush=True)


class ThrowawayDatabase:
    def __enter__(self):
        self.name = f"flowforge_bench_{uuid.uuid4().hex[:10]}"
        self.admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + self.name

    def __exit__(self, *exc):
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def setup_workflow(app):
    with app.app_context():
        upgrade()
        owner = User.create("bench@example.com", "bench password 1", "Bench", role="owner")
        workflow, _ = create_workflow(WORKFLOW, owner)
        db.session.commit()
        return workflow.id


def start_workers(database_url, count, fork):
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL, "EXECUTIONS_MODE": "queue"}
    command = [sys.executable, "worker.py", "--concurrency", str(count), *(["--fork"] if fork else [])]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for_workers(redis, count):
    deadline = time.monotonic() + 60
    while len(Worker.all(connection=redis)) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"{count} workers did not register within a minute")
        time.sleep(0.1)


def stop_workers(process):
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def enqueue_all(app, workflow_id, count, rate=None):
    """Write a batch of executions `queued`, then enqueue their ids in one round trip, so the
    enqueuing side is never what is measured. With `rate`, small batches are paced to that many
    executions per second, so latency is measured at that load instead of behind a backlog.
    Returns ({id: enqueue time}, job ids)."""
    queue = QueueDispatcher(REDIS_URL).queue
    enqueued, job_ids = {}, []
    size = BATCH if rate is None else max(1, int(rate / 20))
    started = time.time()
    with app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        content = workflow.content()
        for start in range(0, count, size):
            if rate is not None:
                time.sleep(max(0.0, started + start / rate - time.time()))
            batch = [create_execution(content, mode="webhook", workflow=workflow, status="queued")
                     for _ in range(min(size, count - start))]
            db.session.commit()
            jobs = queue.enqueue_many([queue.prepare_data(JOB_FUNCTION, (execution.id,), timeout=-1)
                                       for execution in batch])
            now = time.time()
            enqueued.update((execution.id, now) for execution in batch)
            job_ids.extend(job.id for job in jobs)
    return enqueued, job_ids


def wait_until_ended(app, ids):
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        with app.app_context():
            ended = db.session.scalar(select(func.count()).where(
                Execution.id.in_(ids), Execution.status.in_(TERMINAL)))
        if ended == len(ids):
            return
        time.sleep(0.2)
    log(f"  gave up after {TIMEOUT_S} s")


def measure(app, redis, enqueued, job_ids):
    with app.app_context():
        rows = db.session.execute(select(Execution.id, Execution.status, Execution.stopped_at)
                                  .where(Execution.id.in_(list(enqueued)))).all()
    finished = {row.id: row.stopped_at.replace(tzinfo=timezone.utc).timestamp()
                for row in rows if row.status == "success"}
    latencies = sorted((finished[id_] - enqueued[id_]) * 1000 for id_ in finished)
    runs = [job.return_value() for job in Job.fetch_many(job_ids, connection=redis) if job is not None]
    ran = sum(1 for status in runs if status is not None)
    span = max(finished.values()) - min(enqueued.values()) if finished else float("inf")
    return {
        "per_s": round(len(finished) / span, 1),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1) if latencies else None,
        "lost": len(enqueued) - len(finished),
        "duplicated": max(ran - len(finished), 0),
    }


def run(app, database_url, workflow_id, workers, executions, fork, rate):
    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    process = start_workers(database_url, workers, fork)
    try:
        wait_for_workers(redis, workers)
        enqueued, job_ids = enqueue_all(app, workflow_id, executions, rate)
        wait_until_ended(app, list(enqueued))
        figures = measure(app, redis, enqueued, job_ids)
    finally:
        stop_workers(process)
        redis.flushdb()
    return {"workers": workers, "executions": executions, **figures}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=2000)
    parser.add_argument("--fork", action="store_true", help="workers fork per job (rq Worker) instead of SimpleWorker")
    parser.add_argument("--rate", type=float, default=None,
                        help="enqueue at this many executions per second (default: all at once)")
    args = parser.parse_args()
    results = []
    with ThrowawayDatabase() as database_url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
        workflow_id = setup_workflow(app)
        for workers in WORKER_COUNTS:
            result = run(app, database_url, workflow_id, workers, args.executions, args.fork, args.rate)
            log(f"{workers} worker(s): {result['per_s']} executions/s, p50 {result['p50_ms']} ms, "
                f"p99 {result['p99_ms']} ms, lost {result['lost']}, duplicated {result['duplicated']}")
            results.append(result)
        with app.app_context():
            db.engine.dispose()
    print(json.dumps({"results": results}))


if __name__ == "__main__":
    main()
