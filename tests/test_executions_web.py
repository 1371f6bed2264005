"""Execution pages through the test client: run a workflow by hand, inspect, list, stop, delete."""
import time

import pytest

from app.engine.states import TERMINAL
from app.extensions import db
from app.models import Execution, ExecutionData, User
from app.models.workflow_store import create_workflow
from app.runtime.executions import create_execution
from tests.conftest import create_user
from tests.helpers import OWNER_EMAIL, csrf_from, login, post_form

LIVE_VIEW = 'data-live-execution='


def node(name, node_type, x=0, **parameters):
    return {"id": name, "name": name, "type": f"n8n-nodes-base.{node_type}", "typeVersion": 1,
            "position": [x, 300], "parameters": parameters}


def chain(name, *nodes, **extra):
    """A workflow whose nodes are connected one after the other."""
    connections = {a["name"]: {"main": [[{"node": b["name"], "type": "main", "index": 0}]]}
                   for a, b in zip(nodes, nodes[1:])}
    return {"name": name, "nodes": list(nodes), "connections": connections, **extra}


def make_workflow(app, content, owner_email=OWNER_EMAIL):
    with app.app_context():
        workflow, _ = create_workflow(content, User.by_email(owner_email))
        db.session.commit()
        return workflow.id


def add_execution(app, workflow_id, status="success", mode="manual"):
    """An execution row as the runtime leaves it, without running anything."""
    with app.app_context():
        from app.models import Workflow

        workflow = db.session.get(Workflow, workflow_id)
        execution = create_execution(workflow.content(), mode=mode, workflow=workflow, status=status)
        db.session.commit()
        return execution.id


def execute(client, workflow_id):
    return post_form(client, f"/workflows/{workflow_id}/execute", page=f"/workflows/{workflow_id}")


def execution_id_from(response):
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def wait_until_finished(app, execution_id):
    """The background thread's result; polls the database a bounded number of times."""
    for _ in range(500):
        with app.app_context():
            status = db.session.get(Execution, execution_id).status
        if status in TERMINAL:
            return status
        time.sleep(0.02)
    pytest.fail(f"execution {execution_id} did not finish")


def text(response):
    return response.get_data(as_text=True)


PEOPLE = [{"json": {"name": "Ada", "tags": ["math"], "bio": "<b>first</b>"}},
          {"json": {"name": "Grace", "rank": 2}}]


def test_execute_runs_in_the_background_and_shows_nodes_items_and_output(owner_client, app):
    workflow_id = make_workflow(app, chain(
        "People", node("Start", "manualTrigger"), node("Pass", "noOp", 200), pinData={"Start": PEOPLE},
    ))
    execution_id = execution_id_from(execute(owner_client, workflow_id))
    assert wait_until_finished(app, execution_id) == "success"
    with app.app_context():
        execution = db.session.get(Execution, execution_id)
        assert (execution.mode, execution.workflow_id) == ("manual", workflow_id)
    page = text(owner_client.get(f"/executions/{execution_id}"))
    assert "Execution #%d" % execution_id in page and "People" in page
    assert page.index("<h3>Start</h3>") < page.index("<h3>Pass</h3>"), "nodes in the order they ran"
    assert "Output: 2 items" in page and "Input from Start: 2 items" in page
    assert "<th>name</th><th>tags</th><th>bio</th><th>rank</th>" in page, "columns: union of the keys"
    assert "[&#34;math&#34;]" in page, "nested values as compact JSON"
    assert "&#34;name&#34;: &#34;Grace&#34;" in page, "the output as pretty JSON"
    assert "&lt;b&gt;first&lt;/b&gt;" in page and "<b>first</b>" not in page, "item data is escaped"
    assert LIVE_VIEW not in page


def test_a_failing_workflow_shows_the_error_and_its_node(owner_client, app):
    workflow_id = make_workflow(app, chain(
        "Fails", node("Start", "manualTrigger"), node("Stop and Error", "stopAndError", 200, errorMessage="boom"),
    ))
    execution_id = execution_id_from(execute(owner_client, workflow_id))
    assert wait_until_finished(app, execution_id) == "error"
    page = text(owner_client.get(f"/executions/{execution_id}"))
    assert "<strong>boom</strong>" in page
    assert "in node <strong>Stop and Error</strong>" in page
    assert "status-error" in page


def test_long_outputs_show_the_first_hundred_items(owner_client, app):
    items = [{"json": {"n": n}} for n in range(101)]
    workflow_id = make_workflow(app, chain("Many", node("Start", "manualTrigger"), pinData={"Start": items}))
    execution_id = execution_id_from(execute(owner_client, workflow_id))
    wait_until_finished(app, execution_id)
    page = text(owner_client.get(f"/executions/{execution_id}"))
    assert "101 items · showing 100 of 101" in page
    assert "&#34;n&#34;: 99" in page and "&#34;n&#34;: 100" not in page


@pytest.mark.parametrize("content, message", [
    (chain("Unknown", node("Start", "manualTrigger"), node("Fetch", "notANode", 200)),
     "it has nodes of unknown types: &#34;Fetch&#34; (n8n-nodes-base.notANode)"),
    ({"name": "Empty", "nodes": []}, "The workflow has no nodes to run yet."),
])
def test_workflows_that_cannot_run_are_refused(owner_client, app, content, message):
    workflow_id = make_workflow(app, content)
    response = execute(owner_client, workflow_id)
    assert response.headers["Location"] == f"/workflows/{workflow_id}"
    assert message in text(owner_client.get(f"/workflows/{workflow_id}"))
    with app.app_context():
        assert Execution.query.count() == 0


def test_list_filters_by_workflow_and_status_and_paginates(owner_client, app):
    first = make_workflow(app, chain("First flow", node("Start", "manualTrigger")))
    second = make_workflow(app, chain("Second flow", node("Start", "manualTrigger")))
    oldest = add_execution(app, first)
    newer = [add_execution(app, first) for _ in range(25)]
    failed = add_execution(app, second, status="error")
    page_one = text(owner_client.get("/executions"))
    assert "27 executions · page 1 of 2" in page_one
    assert page_one.index(f'href="/executions/{failed}"') < page_one.index(f'href="/executions/{newer[-1]}"')
    assert f'href="/executions/{oldest}"' not in page_one, "newest first, 25 per page"
    assert f'href="/executions/{oldest}"' in text(owner_client.get("/executions?page=2"))
    by_workflow = text(owner_client.get(f"/executions?workflow={second}"))
    assert "1 execution " in by_workflow and "Second flow" in by_workflow
    by_status = text(owner_client.get("/executions?status=error"))
    assert f'href="/executions/{failed}"' in by_status and "1 execution " in by_status
    assert "No execution matches these filters." in text(owner_client.get(f"/executions?workflow={first}&status=error"))
    partial = owner_client.get("/executions?status=error", headers={"HX-Request": "true"})
    assert "<table" in text(partial) and "<html" not in text(partial)
    assert "HX-Request" in partial.headers["Vary"]


def test_delete_removes_the_execution_and_its_data(owner_client, app):
    workflow_id = make_workflow(app, chain("Doomed", node("Start", "manualTrigger")))
    execution_id = execution_id_from(execute(owner_client, workflow_id))
    wait_until_finished(app, execution_id)
    with app.app_context():
        assert db.session.get(ExecutionData, execution_id) is not None
    url = f"/executions/{execution_id}/delete"
    confirm = owner_client.get(url)
    assert f"Delete execution #{execution_id}?" in text(confirm)
    response = owner_client.post(url, data={"csrf_token": csrf_from(text(confirm)), "next": "https://evil.example/"})
    assert response.headers["Location"] == "/executions", "only pages of the list are followed"
    assert f"Deleted execution #{execution_id}." in text(owner_client.get("/executions"))
    with app.app_context():
        assert db.session.get(Execution, execution_id) is None
        assert db.session.get(ExecutionData, execution_id) is None
    assert owner_client.get(f"/executions/{execution_id}").status_code == 404


def test_delete_from_the_list_returns_to_the_same_filters(owner_client, app):
    workflow_id = make_workflow(app, chain("Listed", node("Start", "manualTrigger")))
    execution_id = add_execution(app, workflow_id, status="error")
    listing = "/executions?status=error"
    response = post_form(owner_client, f"/executions/{execution_id}/delete", {"next": listing}, page=listing,
                         headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"] == listing


def test_an_unfinished_execution_is_not_deleted(owner_client, app):
    workflow_id = make_workflow(app, chain("Busy", node("Start", "manualTrigger")))
    execution_id = add_execution(app, workflow_id, status="running")
    page = f"/executions/{execution_id}"
    response = post_form(owner_client, f"{page}/delete", page=page)
    assert response.headers["Location"] == page
    assert "has not finished; stop it before deleting it" in text(owner_client.get(page))
    with app.app_context():
        assert db.session.get(Execution, execution_id) is not None


def test_members_see_only_executions_of_their_own_workflows(app, owner):
    create_user(app, "mia@example.com", "member-password", role="member", name="Mia")
    owners = make_workflow(app, chain("Owner flow", node("Start", "manualTrigger")))
    mine = make_workflow(app, chain("Mia flow", node("Start", "manualTrigger")), owner_email="mia@example.com")
    owners_execution = add_execution(app, owners)
    mine_execution = add_execution(app, mine)
    member = app.test_client()
    login(member, "mia@example.com", "member-password")
    listing = text(member.get("/executions"))
    assert "Mia flow" in listing and "Owner flow" not in listing
    assert f'<option value="{owners}"' not in listing
    assert member.get(f"/executions/{owners_execution}").status_code == 404
    assert member.get(f"/executions/{owners_execution}/delete").status_code == 404
    own_page = f"/executions/{mine_execution}"
    stop = post_form(member, f"/executions/{owners_execution}/stop", page=own_page)
    assert stop.status_code == 404
    assert execute(member, owners).status_code == 404
    assert member.get(own_page).status_code == 200
    admin = app.test_client()
    login(admin)
    assert "Mia flow" in text(admin.get("/executions")), "the owner sees every execution"


@pytest.mark.parametrize("status", ["new", "queued", "running"])
def test_unfinished_executions_show_the_live_view_and_finished_ones_do_not(owner_client, app, status):
    workflow_id = make_workflow(app, chain("Polled", node("Start", "manualTrigger")))
    live = add_execution(app, workflow_id, status=status)
    done = add_execution(app, workflow_id, status="success")
    page = text(owner_client.get(f"/executions/{live}"))
    assert LIVE_VIEW in page and f'/executions/{live}/events"' in page and ">Stop</button>" in page
    fragment = text(owner_client.get(f"/executions/{live}", headers={"HX-Request": "true"}))
    assert LIVE_VIEW in fragment and "<html" not in fragment
    finished = owner_client.get(f"/executions/{done}", headers={"HX-Request": "true"})
    assert LIVE_VIEW not in text(finished) and 'id="execution"' in text(finished)


def test_a_workflow_that_keeps_no_data_says_so(owner_client, app):
    workflow_id = make_workflow(app, chain(
        "Private", node("Start", "manualTrigger"), settings={"saveDataSuccessExecution": "none"},
    ))
    execution_id = execution_id_from(execute(owner_client, workflow_id))
    assert wait_until_finished(app, execution_id) == "success"
    page = text(owner_client.get(f"/executions/{execution_id}"))
    assert "Run data was not saved for this execution" in page
    with app.app_context():
        assert db.session.get(ExecutionData, execution_id) is None


def test_stop_of_a_running_execution_requests_it_for_whichever_process_runs_it(owner_client, app):
    workflow_id = make_workflow(app, chain("Elsewhere", node("Start", "manualTrigger")))
    execution_id = add_execution(app, workflow_id, status="running")
    page = f"/executions/{execution_id}"
    response = post_form(owner_client, f"{page}/stop", page=page)
    assert response.headers["Location"] == page
    assert f"Stopping execution #{execution_id}" in text(owner_client.get(page))
    with app.app_context():
        execution = db.session.get(Execution, execution_id)
        assert execution.status == "running" and execution.cancel_requested_at is not None


def test_stop_of_a_queued_execution_cancels_it_at_once(owner_client, app):
    workflow_id = make_workflow(app, chain("Not yet", node("Start", "manualTrigger")))
    execution_id = add_execution(app, workflow_id, status="queued")
    page = f"/executions/{execution_id}"
    post_form(owner_client, f"{page}/stop", page=page)
    assert f"Execution #{execution_id} was canceled before it started." in text(owner_client.get(page))
    with app.app_context():
        assert db.session.get(Execution, execution_id).status == "canceled"


def test_workflow_page_has_the_execute_button_and_executions_link(owner_client, app):
    workflow_id = make_workflow(app, chain("Buttons", node("Start", "manualTrigger")))
    page = text(owner_client.get(f"/workflows/{workflow_id}"))
    assert f'action="/workflows/{workflow_id}/execute"' in page and "Execute workflow</button>" in page
    assert f'href="/executions?workflow={workflow_id}"' in page


def test_the_workflow_page_follows_its_unfinished_execution_live(owner_client, app):
    workflow_id = make_workflow(app, chain("Live here", node("Start", "manualTrigger"), node("Pass", "noOp")))
    add_execution(app, workflow_id, status="success")
    page = owner_client.get(f"/workflows/{workflow_id}").get_data(as_text=True)
    assert "data-live-execution" not in page, "a finished run is not followed"
    running = add_execution(app, workflow_id, status="running")
    page = owner_client.get(f"/workflows/{workflow_id}").get_data(as_text=True)
    assert f'/executions/{running}/events"' in page and "data-live-execution" in page
    assert f"execution #{running}" in page and 'data-node="Pass"' in page
