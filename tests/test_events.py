"""Live execution events: the buses (in-process and Redis), the runner's hooks, and the websocket
that streams them, over a real server and a real websocket client."""
import json
import threading
import uuid
from contextlib import contextmanager

import pytest
import requests
from simple_websocket import Client, ConnectionClosed, ConnectionError as HandshakeRefused

from app.engine.execute import run_workflow
from app.extensions import db
from app.models import Execution
from app.runtime.events import (
    EXECUTION_FINISHED, EventHooks, InProcessBus, RedisBus, events_key, init_event_bus,
)
from app.runtime.executions import run_in_background
from tests import services
from tests.conftest import create_user, make_app
from tests.helpers import OWNER_EMAIL, OWNER_PASSWORD, csrf_from, serving
from tests.test_executions_web import add_execution, chain, make_workflow, node, wait_until_finished

MEMBER_EMAIL = "member@example.com"


# -- the buses -------------------------------------------------------------------------------------

@pytest.fixture
def redis_client():
    services.require_redis()
    import redis

    client = redis.Redis.from_url(services.REDIS_URL)
    yield client
    client.close()


@pytest.fixture(params=["inline", "redis"])
def bus(request):
    if request.param == "inline":
        return InProcessBus()
    request.getfixturevalue("redis_client")
    return RedisBus(services.REDIS_URL)


def unique_id():
    """Redis keeps events across tests; each test watches an execution id of its own."""
    return f"test-{uuid.uuid4().hex}"


def drain(subscription, timeout=5):
    events = []
    for _ in range(10_000):
        event = subscription.get(timeout=timeout)
        assert event is not None, f"no event within {timeout} s after {events[-1:] if events else 'none'}"
        events.append(event)
        if event["type"] == EXECUTION_FINISHED:
            return events
    raise AssertionError("no executionFinished")


def test_a_late_subscriber_gets_the_history_then_live_events(bus):
    execution_id = unique_id()
    first = bus.publish(execution_id, {"type": "executionStarted"})
    assert first == {"seq": 1, "type": "executionStarted"}
    bus.publish(execution_id, {"type": "nodeStarted", "node": "A", "runIndex": 0})
    with bus.subscribe(execution_id) as subscription:
        assert [e["seq"] for e in (subscription.get(1), subscription.get(1))] == [1, 2]
        assert subscription.get(timeout=0.05) is None
        bus.publish(execution_id, {"type": "nodeFinished", "node": "A", "runIndex": 0, "itemCounts": [2]})
        bus.publish(execution_id, {"type": EXECUTION_FINISHED, "status": "success"})
        live = drain(subscription)
    assert [(e["seq"], e["type"]) for e in live] == [(3, "nodeFinished"), (4, EXECUTION_FINISHED)]
    assert live[0]["itemCounts"] == [2]


def test_subscribers_joining_during_a_burst_see_every_event_once_in_order(bus):
    """Subscribing races publishing on purpose: history and live events must meet without a gap
    or a duplicate, whenever the subscriber joins."""
    execution_id = unique_id()
    total = 400
    subscribed = []

    def publish_all():
        for index in range(total - 1):
            bus.publish(execution_id, {"type": "nodeFinished", "node": f"N{index}", "runIndex": 0})
        bus.publish(execution_id, {"type": EXECUTION_FINISHED, "status": "success"})

    publisher = threading.Thread(target=publish_all)
    publisher.start()
    for _ in range(5):
        subscribed.append(bus.subscribe(execution_id))
    publisher.join()
    subscribed.append(bus.subscribe(execution_id))  # after the end: history only
    for subscription in subscribed:
        with subscription:
            assert [e["seq"] for e in drain(subscription)] == list(range(1, total + 1))


def test_redis_fills_a_gap_the_channel_left_from_the_list(redis_client):
    """Pub/sub may drop messages (a slow subscriber's buffer overflows); the list still has them."""
    bus = RedisBus(services.REDIS_URL)
    execution_id = unique_id()
    with bus.subscribe(execution_id) as subscription:
        redis_client.rpush(events_key(execution_id), json.dumps({"seq": 1, "type": "executionStarted"}))
        bus.publish(execution_id, {"type": EXECUTION_FINISHED, "status": "success"})
        assert [(e["seq"], e["type"]) for e in drain(subscription)] == [
            (1, "executionStarted"), (2, EXECUTION_FINISHED)]


def test_redis_keeps_a_finished_executions_events_for_a_while_only(redis_client):
    bus = RedisBus(services.REDIS_URL)
    execution_id = unique_id()
    bus.publish(execution_id, {"type": "executionStarted"})
    running_ttl = redis_client.ttl(events_key(execution_id))
    bus.publish(execution_id, {"type": EXECUTION_FINISHED, "status": "success"})
    finished_ttl = redis_client.ttl(events_key(execution_id))
    assert 0 < finished_ttl < running_ttl


def test_the_app_picks_its_bus_from_the_executions_mode(app):
    assert isinstance(app.extensions["flowforge.event_bus"], InProcessBus)
    app.config.update(EXECUTIONS_MODE="queue", REDIS_URL="redis://127.0.0.1:1/0")
    bus = init_event_bus(app)
    assert isinstance(bus, RedisBus) and bus._client is None, "no connection before first use"


# -- the runner's hooks ----------------------------------------------------------------------------

def code(name, js, x):
    return {**node(name, "code", x, jsCode=js), "typeVersion": 2}


FLOW = chain(
    "Live", node("Start", "manualTrigger", 0),
    code("Make", "return [{json: {n: 1}}, {json: {n: 2}}, {json: {n: 3}}];", 200),
    node("Keep", "if", 400),
)


def test_hooks_turn_a_run_into_events(app_ctx):
    bus = InProcessBus()
    flow = chain("Hooks", node("Start", "manualTrigger", 0),
                 code("Make", "return [{json: {n: 1}}, {json: {n: 2}}];", 200),
                 code("Fail", "throw new Error('no way');", 400))
    run_workflow(flow, hooks=EventHooks(bus, 7))
    with bus.subscribe(7) as subscription:
        events = list(subscription)  # iterating ends with executionFinished
    assert [(e["type"], e.get("node")) for e in events] == [
        ("executionStarted", None),
        ("nodeStarted", "Start"), ("nodeFinished", "Start"),
        ("nodeStarted", "Make"), ("nodeFinished", "Make"),
        ("nodeStarted", "Fail"), ("nodeFinished", "Fail"),
        (EXECUTION_FINISHED, None),
    ]
    make, fail, finished = events[4], events[6], events[7]
    assert make["itemCounts"] == [2] and make["status"] == "success" and make["durationMs"] >= 0
    assert fail["status"] == "error" and "no way" in fail["error"]["message"]
    assert finished["status"] == "error" and "no way" in finished["error"]["message"]


def test_a_canceled_run_ends_with_a_canceled_executionfinished(app_ctx):
    from app.engine.context import CancelToken

    bus, token = InProcessBus(), CancelToken()
    token.cancel("The execution was canceled by a user")
    run_workflow(FLOW, cancel_token=token, hooks=EventHooks(bus, 8))
    with bus.subscribe(8) as subscription:
        events = list(subscription)
    assert [e["type"] for e in events] == ["executionStarted", EXECUTION_FINISHED]
    assert events[-1]["status"] == "canceled" and "canceled by a user" in events[-1]["error"]["message"]


def test_a_broken_bus_does_not_break_the_run(app_ctx):
    class Broken:
        def publish(self, execution_id, event):
            raise ConnectionError("Redis is down")

    result = run_workflow(chain("Still runs", node("Start", "manualTrigger")), hooks=EventHooks(Broken(), 1))
    assert result.status == "success"


# -- the websocket ---------------------------------------------------------------------------------

@pytest.fixture(params=["inline"])
def live_app(request, sqlite_url):
    """The app over HTTP on a free port (threaded: a websocket holds its thread), in the
    executions mode the test asks for with indirect parametrization."""
    config = {}
    if request.param == "queue":
        config = {"EXECUTIONS_MODE": "queue", "REDIS_URL": services.REDIS_URL}
        # Each test's fresh database numbers executions from 1 again; Redis still holds the
        # events earlier tests published for those numbers.
        redis_client = request.getfixturevalue("redis_client")
        for key in redis_client.scan_iter("ff:exec:[0-9]*"):
            redis_client.delete(key)
    app = make_app(sqlite_url, **config)
    with serving(app) as base_url:
        app.config["TEST_BASE_URL"] = base_url
        yield app


def logged_in(app, email=OWNER_EMAIL, password=OWNER_PASSWORD):
    """A requests session logged in through the real login form."""
    base = app.config["TEST_BASE_URL"]
    session = requests.Session()
    token = csrf_from(session.get(base + "/login", timeout=10).text)
    response = session.post(base + "/login", data={"email": email, "password": password, "csrf_token": token},
                            allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    return session


def connect(app, execution_id, session=None, headers=None):
    url = app.config["TEST_BASE_URL"].replace("http://", "ws://") + f"/executions/{execution_id}/events"
    headers = dict(headers or {})
    if session is not None:
        headers["Cookie"] = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    return Client.connect(url, headers=headers)


def receive_all(ws, timeout=20):
    messages = []
    while True:
        try:
            raw = ws.receive(timeout=timeout)
        except ConnectionClosed:
            return messages
        assert raw is not None, f"nothing within {timeout} s after {messages[-1:] if messages else 'none'}"
        messages.append(json.loads(raw))


@pytest.mark.parametrize("live_app", ["inline", "queue"], indirect=True)
def test_events_arrive_over_a_real_websocket_in_order(live_app):
    """In queue mode the events go through Redis (the run itself stays in this process)."""
    queue_mode = live_app.config["EXECUTIONS_MODE"] == "queue"
    assert isinstance(live_app.extensions["flowforge.event_bus"], RedisBus if queue_mode else InProcessBus)
    create_user(live_app)
    workflow_id = make_workflow(live_app, FLOW)
    execution_id = add_execution(live_app, workflow_id, status="new")
    ws = connect(live_app, execution_id, logged_in(live_app))
    try:
        run_in_background(live_app, execution_id)
        messages = receive_all(ws)
    finally:
        if ws.connected:
            ws.close()
    events, result = messages[:-1], messages[-1]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [(e["type"], e.get("node")) for e in events] == [
        ("executionStarted", None),
        ("nodeStarted", "Start"), ("nodeFinished", "Start"),
        ("nodeStarted", "Make"), ("nodeFinished", "Make"),
        ("nodeStarted", "Keep"), ("nodeFinished", "Keep"),
        (EXECUTION_FINISHED, None),
    ]
    assert events[4]["itemCounts"] == [3]
    assert events[-1]["status"] == "success"
    assert result["type"] == "executionResult" and result["status"] == "success"
    assert result["nodes"]["Make"] == [{"status": "success", "itemCounts": [3], "durationMs": events[4]["durationMs"]}]


SLOW_FLOW = chain(
    "Slow", node("Start", "manualTrigger", 0),
    code("Wait", "const t = Date.now(); while (Date.now() - t < 1500) {} return [{json: {done: true}}];", 200),
    node("After", "noOp", 400),
)


def test_a_websocket_joining_mid_run_gets_the_events_so_far_then_the_rest(live_app):
    create_user(live_app)
    execution_id = add_execution(live_app, make_workflow(live_app, SLOW_FLOW), status="new")
    session = logged_in(live_app)
    with live_app.app_context():
        watcher = live_app.extensions["flowforge.event_bus"].subscribe(execution_id)
    with watcher:
        run_in_background(live_app, execution_id)
        while (watcher.get(timeout=10) or {}).get("node") != "Wait":
            pass
    messages = receive_all(connect(live_app, execution_id, session))
    events = messages[:-1]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [(e["type"], e.get("node")) for e in events][:4] == [
        ("executionStarted", None), ("nodeStarted", "Start"), ("nodeFinished", "Start"), ("nodeStarted", "Wait")]
    assert events[-1]["type"] == EXECUTION_FINISHED and messages[-1]["type"] == "executionResult"


def test_a_subscriber_to_a_finished_execution_gets_the_stored_result(live_app):
    create_user(live_app)
    workflow_id = make_workflow(live_app, FLOW)
    execution_id = add_execution(live_app, workflow_id, status="new")
    run_in_background(live_app, execution_id).join(timeout=30)
    wait_until_finished(live_app, execution_id)
    ws = connect(live_app, execution_id, logged_in(live_app))
    messages = receive_all(ws)
    assert [m["type"] for m in messages] == ["executionResult"]
    assert messages[0]["status"] == "success" and messages[0]["nodes"]["Keep"][0]["itemCounts"] == [3, 0]


def test_without_a_reachable_bus_the_stream_still_ends_with_the_stored_result(live_app, monkeypatch):
    from app.web import ws as ws_module

    class Unreachable:
        def subscribe(self, execution_id):
            raise ConnectionError("Redis is down")

    monkeypatch.setitem(live_app.extensions, "flowforge.event_bus", Unreachable())
    monkeypatch.setattr(ws_module, "IDLE_CHECK_S", 0.2)
    create_user(live_app)
    execution_id = add_execution(live_app, make_workflow(live_app, FLOW), status="running")
    ws = connect(live_app, execution_id, logged_in(live_app))
    with live_app.app_context():
        execution = db.session.get(Execution, execution_id)
        execution.status = "crashed"
        db.session.commit()
    assert [(m["type"], m["status"]) for m in receive_all(ws)] == [("executionResult", "crashed")]


def test_only_the_workflows_owner_or_admins_may_watch(live_app):
    create_user(live_app)
    create_user(live_app, email=MEMBER_EMAIL, role="member", name="Mia Member")
    execution_id = add_execution(live_app, make_workflow(live_app, FLOW), status="success")
    with pytest.raises(HandshakeRefused) as anonymous:
        connect(live_app, execution_id)
    assert anonymous.value.status_code == 302, "to the login page"
    with pytest.raises(HandshakeRefused) as member:
        connect(live_app, execution_id, logged_in(live_app, MEMBER_EMAIL))
    assert member.value.status_code == 404
    owner = logged_in(live_app)
    with pytest.raises(HandshakeRefused) as cross_site:
        connect(live_app, execution_id, owner, headers={"Origin": "https://evil.example"})
    assert cross_site.value.status_code == 403
    own_origin = {"Origin": "http://127.0.0.1"}  # simple-websocket's Host header carries no port
    assert [m["type"] for m in receive_all(connect(live_app, execution_id, owner, own_origin))] == ["executionResult"]


def test_the_page_of_a_running_execution_shows_the_live_view(owner_client, app):
    workflow_id = make_workflow(app, FLOW)
    execution_id = add_execution(app, workflow_id, status="running")
    page = owner_client.get(f"/executions/{execution_id}").get_data(as_text=True)
    assert f'/executions/{execution_id}/events"' in page
    assert 'data-node="Make"' in page and "js/live_execution.js" in page
    finished = add_execution(app, workflow_id, status="success")
    assert "data-live-execution" not in owner_client.get(f"/executions/{finished}").get_data(as_text=True)


@contextmanager
def browser_page(base):
    """A Chromium page logged in as the owner."""
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, _require_chromium

    _require_chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(10_000)
            page.goto(base + "/login")
            page.get_by_label("Email").fill(OWNER_EMAIL)
            page.get_by_label("Password", exact=True).fill(OWNER_PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(base + "/workflows")
            yield page
        finally:
            browser.close()


@pytest.mark.browser
def test_the_execution_page_follows_a_run_live_in_a_browser(live_app):
    from playwright.sync_api import expect

    create_user(live_app)
    workflow_id = make_workflow(live_app, SLOW_FLOW)
    base = live_app.config["TEST_BASE_URL"]
    with browser_page(base) as page:
        page.goto(f"{base}/workflows/{workflow_id}")
        page.get_by_role("button", name="Execute workflow").click()

        live = page.locator(".live-execution")
        expect(live.locator("[data-live-state]")).to_have_text("Running…")
        expect(live.locator('[data-node="Start"] [data-node-status]')).to_have_text("success")
        expect(live.locator('[data-node="Wait"] [data-node-status]')).to_have_text("running")
        expect(live.locator("[data-live-elapsed]")).not_to_have_text("—")

        # The finished page replaces the live view without a reload.
        expect(page.get_by_role("heading", name="Nodes (3 ran)")).to_be_visible()
        expect(page.locator(".live-execution")).to_have_count(0)
        expect(page.locator("h1 .status")).to_have_text("success")


@pytest.mark.browser
def test_stopping_a_run_from_its_live_page_shows_it_canceled(live_app):
    from playwright.sync_api import expect

    create_user(live_app)
    workflow_id = make_workflow(live_app, SLOW_FLOW)
    base = live_app.config["TEST_BASE_URL"]
    with browser_page(base) as page:
        page.goto(f"{base}/workflows/{workflow_id}")
        page.get_by_role("button", name="Execute workflow").click()
        expect(page.locator('.live-execution [data-node="Wait"] [data-node-status]')).to_have_text("running")
        page.get_by_role("button", name="Stop").click()

        # The run stops at the next node boundary: Wait finishes, After never starts.
        expect(page.locator("h1 .status")).to_have_text("canceled")
        expect(page.locator(".live-execution")).to_have_count(0)
        expect(page.get_by_role("heading", name="Nodes (2 ran)")).to_be_visible()
