"""Workflow pages through the test client: list, create, import/export, edit, history, access."""
import io
import json
from pathlib import Path

import pytest

from app.extensions import db
from app.models import User, Workflow, WorkflowHistory
from app.models.workflow_store import create_workflow
from tests.conftest import create_user
from tests.helpers import csrf_from, login, post_form

EXPORT_PATH = Path(__file__).parent / "data" / "n8n_export.json"
EXPORT = json.loads(EXPORT_PATH.read_text())


def make_workflows(app, names, owner_email="owner@example.com", tags=()):
    with app.app_context():
        owner = User.by_email(owner_email)
        ids = []
        for name in names:
            workflow, _ = create_workflow({"name": name, "nodes": [], "tags": list(tags)}, owner)
            ids.append(workflow.id)
        db.session.commit()
        return ids


def import_file(client, content, filename="workflow.json"):
    data = {"file": (io.BytesIO(content), filename)}
    return post_form(client, "/workflows/import", data, content_type="multipart/form-data")


def text(response):
    return response.get_data(as_text=True)


def test_import_of_a_real_n8n_export_round_trips_through_export(owner_client, app):
    response = import_file(owner_client, EXPORT_PATH.read_bytes())
    assert response.status_code == 302
    workflow_id = response.headers["Location"].rsplit("/", 1)[1]
    page = text(owner_client.get(f"/workflows/{workflow_id}"))
    assert "Daily lead sync" in page and "Fetch leads" in page and "unknown type" in page
    exported = owner_client.get(f"/workflows/{workflow_id}/export")
    assert exported.headers["Content-Disposition"] == "attachment; filename=Daily_lead_sync.json"
    data = exported.get_json()
    assert data["nodes"] == EXPORT["nodes"]
    assert data["connections"] == EXPORT["connections"]
    assert data["settings"] == EXPORT["settings"]
    assert data["name"] == EXPORT["name"] and data["active"] is False
    assert data["tags"] == [{"name": "sales"}]
    assert data["id"] == workflow_id and data["versionId"]
    reimport = import_file(owner_client, exported.data)
    assert reimport.status_code == 302, "an export imports again"


def test_import_by_pasting_a_list_creates_every_workflow(owner_client, app):
    payload = json.dumps([EXPORT, dict(EXPORT, name="Second copy")])
    response = post_form(owner_client, "/workflows/import", {"text": payload})
    assert response.headers["Location"] == "/workflows"
    with app.app_context():
        assert sorted(w.name for w in Workflow.query) == ["Daily lead sync", "Second copy"]


def test_import_of_canvas_clipboard_gets_a_default_name(owner_client, app):
    clipboard = {"nodes": EXPORT["nodes"][:2], "connections": {}}
    response = post_form(owner_client, "/workflows/import", {"text": json.dumps(clipboard)})
    assert response.status_code == 302
    with app.app_context():
        assert Workflow.query.one().name == "Imported workflow"


@pytest.mark.parametrize("content, message", [
    (b"{not json", "The file is not valid JSON: Expecting property name enclosed in double quotes at line 1, column 2."),
    (b"\xff\xfe", "The file is not UTF-8 text."),
    (b"[]", "The file holds an empty list"),
    (json.dumps({"name": "Bad", "nodes": [{"name": "A", "type": "x"}, {"name": "A", "type": "x"}]}).encode(),
     "Node &#34;A&#34;: the name &#34;A&#34; is used by more than one node"),
])
def test_bad_imports_show_the_problem_and_store_nothing(owner_client, app, content, message):
    response = import_file(owner_client, content)
    assert response.status_code == 422
    assert message in text(response)
    with app.app_context():
        assert Workflow.query.count() == 0


def test_import_with_nothing_chosen(owner_client):
    response = post_form(owner_client, "/workflows/import", {"text": "  "})
    assert response.status_code == 422
    assert "Choose a file or paste workflow JSON." in text(response)


def test_create_rename_duplicate_delete(owner_client, app):
    response = post_form(owner_client, "/workflows/new", {"name": "Fresh"}, page="/workflows")
    url = response.headers["Location"]
    workflow_id = url.rsplit("/", 1)[1]
    response = post_form(owner_client, f"{url}/rename", {"name": "Renamed"}, page=url)
    assert response.status_code == 302
    assert '<h1 id="workflow-name">Renamed</h1>' in text(owner_client.get(url))
    response = post_form(owner_client, f"{url}/rename", {"name": " "}, page=url)
    assert response.status_code == 422
    copy_url = post_form(owner_client, f"{url}/duplicate", page=url).headers["Location"]
    assert "Renamed (copy)" in text(owner_client.get(copy_url))
    confirm = owner_client.get(f"{url}/delete")
    assert "Delete “Renamed”?" in text(confirm)
    assert owner_client.post(f"{url}/delete", data={"csrf_token": csrf_from(text(confirm))}).status_code == 302
    with app.app_context():
        assert db.session.get(Workflow, workflow_id) is None
        assert [w.name for w in Workflow.query] == ["Renamed (copy)"]
    assert owner_client.get(url).status_code == 404


def test_create_without_a_name_is_refused(owner_client, app):
    response = post_form(owner_client, "/workflows/new", {"name": ""}, page="/workflows")
    assert response.headers["Location"] == "/workflows"
    assert "Give the new workflow a name." in text(owner_client.get("/workflows"))
    with app.app_context():
        assert Workflow.query.count() == 0


def test_tags_are_set_and_filter_the_list(owner_client, app):
    [first, second] = make_workflows(app, ["Alpha", "Beta"])
    post_form(owner_client, f"/workflows/{first}/tags", {"tags": "sales, nightly, Sales"}, page=f"/workflows/{first}")
    with app.app_context():
        assert [t.name for t in db.session.get(Workflow, first).tags] == ["nightly", "sales"]
    listing = text(owner_client.get("/workflows?tag=nightly"))
    assert "Alpha" in listing and "Beta" not in listing


def test_list_search_sort_and_pagination(owner_client, app):
    app.config["WORKFLOWS_PER_PAGE"] = 3
    make_workflows(app, ["Invoices 1", "Invoices 2", "Leads", "Invoices 3", "Invoices 4", "100%_done"])
    first_page = text(owner_client.get("/workflows?sort=name"))
    assert first_page.index("100%_done") < first_page.index("Invoices 1") < first_page.index("Invoices 2")
    assert "6 workflows · page 1 of 2" in first_page
    second = text(owner_client.get("/workflows?sort=name&page=2"))
    assert "Invoices 4" in second and "Leads" in second and "Invoices 1" not in second
    search = text(owner_client.get("/workflows?q=invoices"))
    assert "4 workflows" in search and "Leads" not in search
    assert "1 workflow " in text(owner_client.get("/workflows?q=%25_"))  # LIKE wildcards match literally
    empty = text(owner_client.get("/workflows?q=nothing-like-this"))
    assert "No workflow matches “nothing-like-this”" in empty


def test_list_htmx_request_gets_only_the_table(owner_client, app):
    make_workflows(app, ["Alpha"])
    response = owner_client.get("/workflows?q=Alp", headers={"HX-Request": "true"})
    body = text(response)
    assert "Alpha" in body and "<html" not in body and "<table" in body
    assert "HX-Request" in response.headers["Vary"]
    full = owner_client.get("/workflows?q=Alp")
    assert "<html" in text(full) and "HX-Request" in full.headers["Vary"]


def test_json_edit_validates_and_saves_a_version(owner_client, app):
    [workflow_id] = make_workflows(app, ["Editable"])
    url = f"/workflows/{workflow_id}"
    bad = dict(EXPORT, connections={"Ghost": {"main": [[{"node": "Ignore", "type": "main", "index": 0}]]}})
    response = post_form(owner_client, f"{url}/json", {"content": json.dumps(bad), "version": 1}, page=url)
    assert response.status_code == 422
    assert "Connection from &#34;Ghost&#34;: there is no node named &#34;Ghost&#34;." in text(response)
    assert "nothing was saved" in text(response)
    response = post_form(owner_client, f"{url}/json", {"content": "{oops", "version": 1}, page=url)
    assert response.status_code == 422 and "Not valid JSON" in text(response)
    response = post_form(owner_client, f"{url}/json", {"content": json.dumps(EXPORT), "version": 1}, page=url)
    assert response.status_code == 302
    page = text(owner_client.get(url))
    assert "Saved as version 2." in page and "unknown node type" in page
    with app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        assert (workflow.version, workflow.name, workflow.nodes) == (2, "Daily lead sync", EXPORT["nodes"])


def test_a_stale_json_save_is_refused_not_overwritten(owner_client, app):
    [workflow_id] = make_workflows(app, ["Shared"])
    url = f"/workflows/{workflow_id}"
    first_tab = csrf_from(text(owner_client.get(url)))
    post_form(owner_client, f"{url}/json", {"content": json.dumps(EXPORT), "version": 1}, page=url)
    response = owner_client.post(f"{url}/json", data={
        "content": json.dumps({"name": "Other tab", "nodes": []}), "version": 1, "csrf_token": first_tab,
    })
    assert response.status_code == 409
    assert "changed elsewhere" in text(response)
    with app.app_context():
        assert db.session.get(Workflow, workflow_id).name == "Daily lead sync"


def test_history_lists_versions_and_restores_one(owner_client, app):
    [workflow_id] = make_workflows(app, ["Versioned"])
    url = f"/workflows/{workflow_id}"
    post_form(owner_client, f"{url}/rename", {"name": "Versioned v2"}, page=url)
    history = text(owner_client.get(f"{url}/history"))
    assert "v1" in history and "v2" in history and "Olive Owner" in history
    version = text(owner_client.get(f"{url}/history/1"))
    assert "&#34;name&#34;: &#34;Versioned&#34;" in version
    response = post_form(owner_client, f"{url}/history/1/restore", page=f"{url}/history")
    assert response.status_code == 302
    assert "Restored version 1 as version 3." in text(owner_client.get(url))
    with app.app_context():
        assert db.session.get(Workflow, workflow_id).name == "Versioned"
        assert WorkflowHistory.query.filter_by(workflow_id=workflow_id).count() == 3
    assert owner_client.get(f"{url}/history/42").status_code == 404


def test_members_see_only_their_own_workflows(app, owner):
    create_user(app, "mia@example.com", "member-password", role="member", name="Mia")
    [owners] = make_workflows(app, ["Owner's flow"])
    [mine] = make_workflows(app, ["Mia's flow"], owner_email="mia@example.com")
    member = app.test_client()
    login(member, "mia@example.com", "member-password")
    listing = text(member.get("/workflows"))
    assert "Mia&#39;s flow" in listing and "Owner&#39;s flow" not in listing
    assert member.get(f"/workflows/{owners}").status_code == 404
    assert member.get(f"/workflows/{owners}/export").status_code == 404
    assert member.get(f"/workflows/{mine}").status_code == 200
    admin_view = app.test_client()
    login(admin_view)
    assert "Mia&#39;s flow" in text(admin_view.get("/workflows")), "the owner sees every workflow"


def test_home_redirects_to_the_list(owner_client):
    assert owner_client.get("/").headers["Location"] == "/workflows"


def test_export_of_a_name_beyond_latin1_has_a_valid_header(owner_client, app):
    [workflow_id] = make_workflows(app, ["日本 sync ż"])
    response = owner_client.get(f"/workflows/{workflow_id}/export")
    disposition = response.headers["Content-Disposition"]
    disposition.encode("latin-1")  # a header beyond Latin-1 makes real servers drop the response
    assert "filename*=UTF-8''" in disposition
    assert response.get_json()["name"] == "日本 sync ż"


def test_htmx_history_restore_gets_the_full_page(owner_client, app):
    make_workflows(app, ["Alpha"])
    response = owner_client.get("/workflows?q=Al", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in text(response) and "Alpha" in text(response)
