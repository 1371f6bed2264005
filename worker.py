"""RQ worker entry point: `python worker.py` runs executions, `python worker.py --scheduler` the scheduler.

The app is created once here and the Redis connection is passed explicitly (RQ 2+ has no implicit
connection stack); V8 contexts are never created in this parent process (see DESIGN.md). Worker
processes forked from here inherit the app and its context, so jobs never build one of their own.
"""
import argparse
import os
import sys

from redis import Redis

from app import create_app

QUEUES = ("executions",)


def main(argv=None):
    parser = argparse.ArgumentParser(description="FlowForge background processes (queue mode).")
    parser.add_argument("--scheduler", action="store_true", help="run rq-scheduler instead of a worker")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 1, metavar="N",
                        help="executions run at once: N worker processes (default: the number of cores)")
    parser.add_argument("--fork", action="store_true",
                        help="fork a child per job: a crash loses one job, not the worker, but jobs run slower")
    args = parser.parse_args(argv)
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")

    app = create_app()
    url = app.config["REDIS_URL"]
    if not url:
        sys.exit("worker.py needs REDIS_URL (for example redis://127.0.0.1:6379/0).")
    connection = Redis.from_url(url)
    with app.app_context():
        if args.scheduler:
            run_scheduler(connection, args.burst)
        else:
            run_workers(connection, args.concurrency, args.burst, args.fork)


def run_scheduler(connection, burst):
    from rq_scheduler import Scheduler

    from app.runtime.pruning import schedule_periodic_jobs
    from app.runtime.reconciler import schedule_reconciler

    scheduler = Scheduler(queue_name=QUEUES[0], connection=connection)
    # Periodic jobs have stable ids, so every scheduler start re-registers the same ones.
    schedule_periodic_jobs(scheduler)
    schedule_reconciler(scheduler)
    scheduler.run(burst=burst)


def run_workers(connection, concurrency, burst, fork):
    # SimpleWorker by default: it runs jobs in its own process, so the app, the database pool and
    # the node registry are built once per worker instead of once per job. The forking Worker pays
    # a fork (and a fresh V8 isolate for Code nodes) per job: on Manual → Set → NoOp,
    # bench/queue_throughput.py measured 95 executions/s for one SimpleWorker against 13 for one
    # forking Worker (181 against 23 with two, on two cores). What forking buys is isolation: a
    # crash inside a SimpleWorker takes the worker down and leaves its execution `running` for
    # DESIGN.md's reconciler to mark crashed; the process manager restarts the worker. `--fork`
    # is there for workflows that crash workers.
    from rq import Queue, SimpleWorker, Worker

    worker_class = Worker if fork else SimpleWorker
    queues = [Queue(name, connection=connection) for name in QUEUES]
    if concurrency == 1:
        worker_class(queues, connection=connection).work(burst=burst, with_scheduler=True)
        return
    from rq.worker_pool import WorkerPool

    pool = WorkerPool(queues, connection=connection, num_workers=concurrency, worker_class=worker_class)
    pool.start(burst=burst)


if __name__ == "__main__":
    main()
