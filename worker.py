"""RQ worker entry point: `python worker.py` runs executions, `python worker.py --scheduler` the scheduler.

The app is created once here and the Redis connection is passed explicitly (RQ 2+ has no implicit
connection stack); V8 contexts are never created in this parent process (see DESIGN.md).
"""
import argparse
import sys

from redis import Redis

from app import create_app

QUEUES = ("executions",)


def main(argv=None):
    parser = argparse.ArgumentParser(description="FlowForge background processes (queue mode).")
    parser.add_argument("--scheduler", action="store_true", help="run rq-scheduler instead of a worker")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    args = parser.parse_args(argv)

    app = create_app()
    url = app.config["REDIS_URL"]
    if not url:
        sys.exit("worker.py needs REDIS_URL (for example redis://127.0.0.1:6379/0).")
    connection = Redis.from_url(url)
    with app.app_context():
        if args.scheduler:
            from rq_scheduler import Scheduler

            Scheduler(queue_name=QUEUES[0], connection=connection).run(burst=args.burst)
        else:
            from rq import Queue, Worker

            queues = [Queue(name, connection=connection) for name in QUEUES]
            Worker(queues, connection=connection).work(burst=args.burst, with_scheduler=True)


if __name__ == "__main__":
    main()
