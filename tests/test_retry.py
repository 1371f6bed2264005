"""Retrying failed executions, with the original snapshot or the current workflow, in the browser
and from the CLI."""
import pytest

from app.extensions import db
from app.models import Execution, User, Workflow
from app.models.workflow_store import save_content
from tests.conftest import create_user
from tests.helpers import login, post_form
from tests.test_executions_web import (
    add_execution, chain, execute, execution_id_from, make_workflow, node, text, wait_until_finished,
)


def failing(message="boom"):
    return chain("Flaky", node("Start", "manualTrigger"),
                 node("Stop and Error", "stopAndError", 200, errorMessage=message))


def fixed():
    return chain("Flaky", node("Start", "manualTrigger"), node("Pass", "noOp", 200))


def set_content(app, workflow_id, content):
    with app.app_context():
        save_content(db.session.get(Workflow, workflow_id), content, User.query.first())
        db.session.commit()


def failed_execution(client, app, content=None):
    workflow_id = make_workflow(app, content or failing())
    execution_id = execution_id_from(execute(client, workflow_id))
    assert wait_until_finished(app, execution_id) == "error"
    return workflow_id, execution_id


def retry(client, execution_id, choice):
    return post_form(client, f"/executions/{execution_id}/retry", {"workflow": choice},
                     page=f"/executions/{execution_id}")


def stored(app, execution_id):
    with app.app_context():
        execution = db.session.get(Execution, execution_id)
        db.session.expunge(execution)
        return execution


def test_retry_with_the_original_workflow_runs_the_snapshot(owner_client, app):
    workflow_id, first = failed_execution(owner_client, app)
    set_content(app, workflow_id, fixed())

    second = execution_id_from(retry(owner_client, first, "original"))

    assert wait_until_finished(app, second) == "error"  # the snapshot still fails
    execution = stored(app, second)
    assert (execution.mode, execution.retry_of, execution.workflow_id) == ("retry", first, workflow_id)
    assert execution.workflow_snapshot["nodes"][1]["name"] == "Stop and Error"


def test_retry_with_the_current_workflow_runs_it_as_it_is_now(owner_client, app):
    workflow_id, first = failed_execution(owner_client, app)
    set_content(app, workflow_id, fixed())

    second = execution_id_from(retry(owner_client, first, "current"))

    assert wait_until_finished(app, second) == "success"
    assert stored(app, second).retry_of == first


def test_the_pages_link_the_execution_and_its_retries(owner_client, app):
    _, first = failed_execution(owner_client, app)
    page = text(owner_client.get(f"/executions/{first}"))
    assert "Retry with original workflow" in page and "Retry with current workflow" in page
    second = execution_id_from(retry(owner_client, first, "original"))
    wait_until_finished(app, second)
    third = execution_id_from(retry(owner_client, first, "current"))
    wait_until_finished(app, third)

    page = text(owner_client.get(f"/executions/{first}"))
    assert "Retried as" in page
    assert f'href="/executions/{second}">#{second}</a>, <a href="/executions/{third}">#{third}</a>' in page
    assert f'Retry of</dt><dd><a href="/executions/{first}">#{first}</a>' in text(owner_client.get(f"/executions/{third}"))


@pytest.mark.parametrize("status", ["success", "running", "queued", "waiting", "new"])
def test_only_failed_crashed_or_canceled_executions_are_retried(owner_client, app, status):
    workflow_id = make_workflow(app, fixed())
    execution_id = add_execution(app, workflow_id, status=status)
    assert "Retry with" not in text(owner_client.get(f"/executions/{execution_id}"))
    response = retry(owner_client, execution_id, "original")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/executions/{execution_id}")
    with app.app_context():
        assert Execution.query.filter_by(retry_of=execution_id).count() == 0


@pytest.mark.parametrize("status", ["crashed", "canceled"])
def test_crashed_and_canceled_executions_are_retried(owner_client, app, status):
    workflow_id = make_workflow(app, fixed())
    execution_id = add_execution(app, workflow_id, status=status)
    second = execution_id_from(retry(owner_client, execution_id, "original"))
    assert wait_until_finished(app, second) == "success"


def test_an_unknown_choice_is_a_bad_request(owner_client, app):
    _, first = failed_execution(owner_client, app)
    assert retry(owner_client, first, "yesterday").status_code == 400


def test_a_retry_that_cannot_run_is_refused_with_the_reason(owner_client, app):
    workflow_id, first = failed_execution(owner_client, app)
    set_content(app, workflow_id, {"name": "Flaky", "nodes": [], "connections": {}})
    response = retry(owner_client, first, "current")
    assert response.headers["Location"].endswith(f"/executions/{first}")
    assert "no nodes to run" in text(owner_client.get(f"/executions/{first}"))


def test_members_cannot_retry_other_peoples_executions(owner_client, app):
    _, first = failed_execution(owner_client, app)
    create_user(app, "mia@example.com", "member-password", role="member", name="Mia")
    member = app.test_client()
    login(member, "mia@example.com", "member-password")
    response = post_form(member, f"/executions/{first}/retry", {"workflow": "original"}, page="/executions")
    assert response.status_code == 404


def test_cli_retry_runs_the_retry_here_and_reports_its_status(owner_client, app):
    workflow_id, first = failed_execution(owner_client, app)
    set_content(app, workflow_id, fixed())
    runner = app.test_cli_runner()

    original = runner.invoke(args=["executions", "retry", str(first)])
    assert original.exit_code == 1 and "(retry of" in original.output and "error" in original.output

    current = runner.invoke(args=["executions", "retry", str(first), "--current"])
    assert current.exit_code == 0, current.output
    assert current.output.strip().endswith(": success")
    with app.app_context():
        retries = Execution.query.filter_by(retry_of=first).order_by(Execution.id).all()
        assert [(e.mode, e.status) for e in retries] == [("retry", "error"), ("retry", "success")]


def test_cli_retry_refuses_unknown_and_unfinished_executions(owner, app):
    runner = app.test_cli_runner()
    assert "No execution with the id 999" in runner.invoke(args=["executions", "retry", "999"]).output
    workflow_id = make_workflow(app, fixed())
    running = add_execution(app, workflow_id, status="running")
    result = runner.invoke(args=["executions", "retry", str(running)])
    assert result.exit_code != 0 and "only failed, crashed or canceled" in result.output
