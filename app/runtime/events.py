"""Live execution events: what the runner reports, for whoever watches an execution.

One interface, two buses (DESIGN.md): `InProcessBus` when executions run inside the web process
(inline), `RedisBus` when workers elsewhere run them (queue). `publish(execution_id, event)` gives
the event the next sequence number of its execution; `subscribe(execution_id)` returns a
`Subscription` that hands out every event published so far, then the live ones, each once and in
order. Events are best-effort transport: the database stays the record of what happened.

Event shape: {"seq", "type", "node"?, "runIndex"?, "status"?, "itemCounts"?, "durationMs"?, "error"?}
with type executionStarted | nodeStarted | nodeFinished | executionFinished. A canceled run ends
with executionFinished whose status is "canceled".
"""
import json
import logging
import queue
import threading
import time
from collections import deque

from flask import current_app

from app.engine.runner import RunHooks

log = logging.getLogger(__name__)

EXECUTION_STARTED = "executionStarted"
NODE_STARTED = "nodeStarted"
NODE_FINISHED = "nodeFinished"
EXECUTION_FINISHED = "executionFinished"

# A finished execution's events stay this long, so a late subscriber still sees the whole run.
FINISHED_RETENTION_S = 3600
# Events of an execution that never reports its end (its worker died) go after this long.
RUNNING_RETENTION_S = 24 * 3600

_EXTENSION_KEY = "flowforge.event_bus"


class Subscription:
    """The events of one execution, oldest first. Use as a context manager, or call close()."""

    def get(self, timeout=None):
        """The next event, or None when none arrived within `timeout` seconds."""
        raise NotImplementedError

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __iter__(self):
        """Every event until the execution's end (blocks while it runs)."""
        while True:
            event = self.get()
            yield event
            if event["type"] == EXECUTION_FINISHED:
                return


class EventBus:
    def publish(self, execution_id, event):
        """Append `event` (a dict with a "type") to the execution's events; returns it with its seq."""
        raise NotImplementedError

    def subscribe(self, execution_id):
        raise NotImplementedError


# -- inline: one process ---------------------------------------------------------------------------

class _Channel:
    def __init__(self):
        self.events = []
        self.queues = set()
        self.expires_at = time.monotonic() + RUNNING_RETENTION_S


class _QueueSubscription(Subscription):
    def __init__(self, events, on_close):
        self._events = events
        self._on_close = on_close

    def get(self, timeout=None):
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self):
        self._on_close()


class InProcessBus(EventBus):
    """Events kept in memory. One lock orders publishing against subscribing, so a subscriber's
    queue gets the history and then exactly the events published after it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._channels = {}

    def publish(self, execution_id, event):
        now = time.monotonic()
        with self._lock:
            channel = self._channels.setdefault(execution_id, _Channel())
            event = {"seq": len(channel.events) + 1, **event}
            channel.events.append(event)
            for subscriber in channel.queues:
                subscriber.put(event)
            if event["type"] == EXECUTION_FINISHED:
                channel.expires_at = now + FINISHED_RETENTION_S
                self._forget_expired(now)
        return event

    def subscribe(self, execution_id):
        events = queue.SimpleQueue()
        with self._lock:
            channel = self._channels.setdefault(execution_id, _Channel())
            for event in channel.events:
                events.put(event)
            channel.queues.add(events)
        return _QueueSubscription(events, lambda: self._unsubscribe(execution_id, events))

    def _unsubscribe(self, execution_id, events):
        with self._lock:
            channel = self._channels.get(execution_id)
            if channel is not None:
                channel.queues.discard(events)

    def _forget_expired(self, now):
        expired = [key for key, channel in self._channels.items() if channel.expires_at <= now]
        for key in expired:
            del self._channels[key]


# -- queue mode: Redis -----------------------------------------------------------------------------

# Numbering, storing and announcing in one atomic step: the list and the channel then carry the
# same events in the same order, whichever process publishes.
_PUBLISH_SCRIPT = """
local seq = redis.call('LLEN', KEYS[1]) + 1
local event = '{"seq":' .. seq .. ',' .. string.sub(ARGV[1], 2)
redis.call('RPUSH', KEYS[1], event)
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], event)
return event
"""
SUBSCRIBE_TIMEOUT_S = 5


def events_key(execution_id):
    return f"ff:exec:{execution_id}:events"


def events_channel(execution_id):
    return f"ff:exec:{execution_id}:live"


class _RedisSubscription(Subscription):
    """Subscribes to the channel first, then reads the list: an event published in between is in
    both, and is handed out once because its seq is already seen. A seq further ahead than the
    next one (pub/sub dropped messages) is filled in from the list."""

    def __init__(self, client, execution_id):
        self._client = client
        self._key = events_key(execution_id)
        self._pubsub = client.pubsub()
        try:
            self._pubsub.subscribe(events_channel(execution_id))
            self._wait_until_subscribed()
            self._pending = deque(json.loads(raw) for raw in client.lrange(self._key, 0, -1))
        except Exception:
            self._pubsub.close()
            raise
        self._seen = len(self._pending)

    def _wait_until_subscribed(self):
        deadline = time.monotonic() + SUBSCRIBE_TIMEOUT_S
        while time.monotonic() < deadline:
            message = self._pubsub.get_message(timeout=deadline - time.monotonic())
            if message is not None and message["type"] == "subscribe":
                return
        raise TimeoutError("Redis did not confirm the subscription")

    def get(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._pending:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            message = self._pubsub.get_message(ignore_subscribe_messages=True, timeout=remaining)
            if message is not None and message["type"] == "message":
                self._receive(json.loads(message["data"]))
        return self._pending.popleft()

    def _receive(self, event):
        seq = event["seq"]
        if seq <= self._seen:
            return
        if seq > self._seen + 1:
            missed = self._client.lrange(self._key, self._seen, seq - 2)
            self._pending.extend(json.loads(raw) for raw in missed)
        self._pending.append(event)
        self._seen = seq

    def close(self):
        self._pubsub.close()


class RedisBus(EventBus):
    def __init__(self, url):
        self._url = url
        self._client = None
        self._script = None
        self._lock = threading.Lock()

    def _redis(self):
        # Connected on first use: the factory opens no connection (DESIGN.md), and a forked
        # worker builds its own.
        with self._lock:
            if self._client is None:
                import redis

                self._client = redis.Redis.from_url(self._url, socket_connect_timeout=5, socket_timeout=10)
                self._script = self._client.register_script(_PUBLISH_SCRIPT)
        return self._client

    def publish(self, execution_id, event):
        if not event.get("type"):
            raise ValueError("an event needs a type")
        client = self._redis()
        ttl = FINISHED_RETENTION_S if event["type"] == EXECUTION_FINISHED else RUNNING_RETENTION_S
        raw = self._script(keys=[events_key(execution_id)],
                           args=[json.dumps(event, default=str), ttl, events_channel(execution_id)],
                           client=client)
        return json.loads(raw)

    def subscribe(self, execution_id):
        return _RedisSubscription(self._redis(), execution_id)


# -- from the runner to events ---------------------------------------------------------------------

def item_counts(outputs):
    """Items per output of a node run ([] when it produced no output data)."""
    return [len(items or []) for items in outputs or []]


def error_summary(error):
    """The parts of a stored error worth streaming (a full error may carry a long stack)."""
    if not error:
        return None
    return {key: error[key] for key in ("message", "description") if error.get(key)}


def node_finished_fields(status, outputs, duration_ms, error):
    fields = {"status": status, "itemCounts": item_counts(outputs), "durationMs": duration_ms}
    if error:
        fields["error"] = error_summary(error)
    return fields


class EventHooks(RunHooks):
    """Publishes a run's progress. A failing bus never fails the run: the live view is a
    convenience, the stored execution is the record."""

    def __init__(self, bus, execution_id):
        self.bus = bus
        self.execution_id = execution_id

    def workflow_started(self, runner):
        self._emit({"type": EXECUTION_STARTED})

    def node_started(self, node_name, run_index):
        self._emit({"type": NODE_STARTED, "node": node_name, "runIndex": run_index})

    def node_finished(self, node_name, run_index, run):
        self._emit({"type": NODE_FINISHED, "node": node_name, "runIndex": run_index,
                    **node_finished_fields(run.status, run.outputs, run.execution_time, run.error)})

    def workflow_finished(self, result):
        event = {"type": EXECUTION_FINISHED, "status": result.status,
                 "durationMs": max(0, int((result.stopped_at - result.started_at) * 1000))}
        if result.error:
            event["error"] = error_summary(result.error)
        self._emit(event)

    def _emit(self, event):
        try:
            self.bus.publish(self.execution_id, event)
        except Exception:
            log.warning("could not publish a live event of execution %s", self.execution_id, exc_info=True)


# -- the app's bus ---------------------------------------------------------------------------------

def init_event_bus(app):
    if app.config.get("EXECUTIONS_MODE") == "queue":
        bus = RedisBus(app.config["REDIS_URL"])
    else:
        bus = InProcessBus()
    app.extensions[_EXTENSION_KEY] = bus
    return bus


def get_event_bus():
    return current_app.extensions[_EXTENSION_KEY]
