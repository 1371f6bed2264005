"""Model and storage behaviour, run on SQLite and on the real PostgreSQL server."""
import json
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from app.engine.workflow import WorkflowInvalid
from app.extensions import db
from app.models import (
    ApiKey, AuditLog, Credential, Execution, ExecutionData, Schedule, Tag, User, Variable, Webhook,
    Workflow, WorkflowHistory,
)
from app.models.workflow_store import (
    VersionConflict, create_workflow, duplicate_workflow, import_workflows, rename_workflow,
    restore_version, save_content,
)

EXPORT = json.loads((Path(__file__).parent / "data" / "n8n_export.json").read_text())


@pytest.fixture
def ctx(any_db_app):
    with any_db_app.app_context():
        yield any_db_app


@pytest.fixture
def user(ctx):
    user = User.create("Ada@Example.com", "s3cret-password", "Ada", role="owner")
    db.session.commit()
    return user


def test_user_email_is_normalised_and_unique(user):
    assert user.email == "ada@example.com"
    assert User.by_email("  ADA@example.COM ") == user
    with pytest.raises(ValueError, match="already exists"):
        User.create("ada@example.com", "another-password")


def test_password_is_hashed_never_stored_plain(user):
    assert "s3cret-password" not in user.password_hash
    assert user.password_hash.startswith("scrypt:")
    assert user.check_password("s3cret-password")
    assert not user.check_password("wrong-password")


@pytest.mark.parametrize("email, password, role, message", [
    ("not-an-email", "long-enough", "member", "valid email"),
    ("a@b.c", "short", "member", "at least 8"),
    ("a@b.c", "long-enough", "superuser", "Role must be one of"),
])
def test_user_create_refuses_bad_input(ctx, email, password, role, message):
    with pytest.raises(ValueError, match=message):
        User.create(email, password, role=role)


def test_roles_decide_who_manages_whom(ctx):
    owner = User(role="owner")
    admin = User(role="admin")
    member = User(role="member")
    assert owner.can_manage(admin) and owner.can_manage(member)
    assert admin.can_manage(member) and admin.can_manage(User(role="admin"))
    assert not admin.can_manage(owner)
    assert not member.can_manage(member)


def test_create_workflow_stores_content_tags_and_first_version(user):
    workflow, warnings = create_workflow(EXPORT, user)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Workflow, workflow.id)
    assert stored.nodes == EXPORT["nodes"]
    assert stored.connections == EXPORT["connections"]
    assert stored.settings == EXPORT["settings"]
    assert stored.node_count == len(EXPORT["nodes"])
    assert stored.active is False
    assert [t.name for t in stored.tags] == ["sales"]
    assert stored.version == 1
    assert [(h.version, h.author_id) for h in stored.history] == [(1, user.id)]
    assert warnings, "no node type is registered yet, so every node is reported unknown"


def test_invalid_workflow_stores_nothing(user):
    bad = dict(EXPORT, connections={"Nobody": {"main": [[{"node": "Ignore", "type": "main", "index": 0}]]}})
    with pytest.raises(WorkflowInvalid) as info:
        create_workflow(bad, user)
    db.session.commit()
    assert 'no node named "Nobody"' in str(info.value)
    assert Workflow.query.count() == 0
    assert WorkflowHistory.query.count() == 0


def test_every_save_is_a_version_and_any_version_restores(user):
    workflow, _ = create_workflow({"name": "Flow", "nodes": []}, user)
    db.session.commit()
    save_content(workflow, dict(EXPORT, name="Flow"), user, expected_version=1)
    rename_workflow(workflow, "Flow renamed", user)
    db.session.commit()
    assert workflow.version == 3
    assert [h.version for h in workflow.history] == [3, 2, 1]
    restore_version(workflow, 1, user)
    db.session.commit()
    assert workflow.version == 4
    assert workflow.nodes == [] and workflow.name == "Flow"
    assert workflow.history.filter_by(version=4).one().name == "Flow"
    with pytest.raises(LookupError):
        restore_version(workflow, 99, user)


def test_stale_save_is_refused(user):
    workflow, _ = create_workflow({"name": "Flow", "nodes": []}, user)
    save_content(workflow, {"name": "Flow", "nodes": []}, user, expected_version=1)
    db.session.commit()
    with pytest.raises(VersionConflict, match="changed elsewhere"):
        save_content(workflow, {"name": "Flow", "nodes": []}, user, expected_version=1)


def test_duplicate_copies_content_and_tags(user):
    workflow, _ = create_workflow(EXPORT, user)
    copy = duplicate_workflow(workflow, user)
    db.session.commit()
    assert copy.id != workflow.id
    assert copy.name == "Daily lead sync (copy)"
    assert copy.nodes == workflow.nodes
    assert [t.name for t in copy.tags] == ["sales"]
    assert Tag.query.count() == 1


def test_import_of_a_list_is_all_or_nothing(user):
    good = dict(EXPORT)
    bad = {"name": "Broken", "nodes": [{"name": "A"}]}
    with pytest.raises(WorkflowInvalid) as info:
        import_workflows([good, bad], user)
    db.session.rollback()
    assert [str(p) for p in info.value.problems] == [
        'Workflow 2: Node "A" needs a type (for example n8n-nodes-base.set).'
    ]
    assert Workflow.query.count() == 0
    created = import_workflows([good, dict(good, name="Second")], user)
    db.session.commit()
    assert sorted(w.name for w, _ in created) == ["Daily lead sync", "Second"]


def test_deleting_a_workflow_removes_its_history_executions_and_triggers(user):
    workflow, _ = create_workflow(EXPORT, user)
    db.session.flush()
    execution = Execution(workflow_id=workflow.id, status="success", mode="manual")
    execution.data = ExecutionData(value={"runData": {}})
    db.session.add_all([
        execution,
        Webhook(workflow_id=workflow.id, node_name="Hook", method="POST", path="leads"),
        Schedule(workflow_id=workflow.id, node_name="Every hour", rule={"interval": [{"field": "hours"}]}, job_id="abc"),
    ])
    db.session.commit()
    db.session.delete(workflow)
    db.session.commit()
    for model in (Workflow, WorkflowHistory, Execution, ExecutionData, Webhook, Schedule):
        assert model.query.count() == 0, model.__name__


def test_execution_data_is_compressed_json(user):
    run_data = {"runData": {"Set": [{"data": {"main": [[{"json": {"text": "x" * 10_000}}]]}}]}}
    execution = Execution(status="success", mode="cli")
    execution.data = ExecutionData(value=run_data)
    db.session.add(execution)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Execution, execution.id)
    assert stored.data.value == run_data
    assert len(stored.data.blob) < 1_000


def test_webhook_method_and_path_are_unique(user):
    workflow, _ = create_workflow({"name": "Hooks", "nodes": []}, user)
    db.session.flush()
    db.session.add(Webhook(workflow_id=workflow.id, node_name="A", method="POST", path="orders"))
    db.session.add(Webhook(workflow_id=workflow.id, node_name="B", method="GET", path="orders"))
    db.session.commit()
    db.session.add(Webhook(workflow_id=workflow.id, node_name="C", method="POST", path="orders"))
    with pytest.raises(IntegrityError):
        db.session.commit()


def test_api_keys_are_stored_hashed(user):
    row, raw = ApiKey.issue(user, "ci")
    db.session.commit()
    assert raw.startswith("ffk_") and raw not in row.key_hash
    assert ApiKey.find(raw) == row
    assert ApiKey.find(raw + "x") is None


def test_variables_credentials_and_audit_rows_round_trip(user):
    db.session.add(Variable(key="region", value="eu"))
    db.session.add(Credential(name="Lead API", type="httpHeaderAuth", encrypted_data=b"\x00blob", key_id="k1"))
    AuditLog.record("user.created", user=user, ip="127.0.0.1", target=user, role="owner")
    db.session.commit()
    assert Variable.query.one().value == "eu"
    assert Credential.query.one().encrypted_data == b"\x00blob"
    entry = AuditLog.query.one()
    assert (entry.actor, entry.target_type, entry.target_id, entry.detail) == (
        "ada@example.com", "users", str(user.id), {"role": "owner"}
    )
