"""`flask user create`, `flask workflow import/export/list`, in-process and as a real command."""
import json
import os
import subprocess
import sys
from pathlib import Path

from app.extensions import db
from app.models import User, Workflow

EXPORT_PATH = Path(__file__).parent / "data" / "n8n_export.json"
EXPORT = json.loads(EXPORT_PATH.read_text())
ROOT = Path(__file__).parent.parent


def test_first_user_is_the_owner_then_members(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["user", "create", "--email", "Boss@Example.com", "--password", "long-password"])
    assert result.exit_code == 0, result.output
    assert "Created boss@example.com (owner)." in result.output
    result = runner.invoke(args=["user", "create", "--email", "dev@example.com", "--password", "long-password"])
    assert "Created dev@example.com (member)." in result.output
    result = runner.invoke(args=["user", "create", "--email", "x@example.com", "--password", "long-password", "--role", "owner"])
    assert result.exit_code != 0 and "There is already an owner" in result.output
    result = runner.invoke(args=["user", "create", "--email", "y@example.com", "--password", "short"])
    assert result.exit_code != 0 and "at least 8 characters" in result.output
    with app.app_context():
        assert sorted((u.email, u.role) for u in User.query) == [
            ("boss@example.com", "owner"), ("dev@example.com", "member"),
        ]


def test_import_then_export_round_trips(app, owner, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["workflow", "import", str(EXPORT_PATH)])
    assert result.exit_code == 0, result.output
    assert "imported 'Daily lead sync' as " in result.output
    assert 'unknown node type "n8n-nodes-base.httpRequest"' in result.output
    with app.app_context():
        workflow = Workflow.query.one()
        assert workflow.owner.email == "owner@example.com"
        workflow_id = workflow.id
    exported = runner.invoke(args=["workflow", "export", workflow_id])
    data = json.loads(exported.output)
    assert data["nodes"] == EXPORT["nodes"] and data["connections"] == EXPORT["connections"]
    out = tmp_path / "out.json"
    runner.invoke(args=["workflow", "export", workflow_id, "-o", str(out)])
    assert json.loads(out.read_text())["id"] == workflow_id
    listing = runner.invoke(args=["workflow", "list"])
    assert f"{workflow_id}\tinactive\tDaily lead sync" in listing.output


def test_import_reports_each_bad_file_and_stores_nothing_from_it(app, owner, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "x", "nodes": [')
    invalid = tmp_path / "invalid.json"
    invalid.write_text(json.dumps({"name": "Bad", "nodes": [{"name": "A", "type": "x", "parameters": []}]}))
    result = app.test_cli_runner().invoke(
        args=["workflow", "import", str(broken), str(invalid), str(EXPORT_PATH), str(tmp_path / "missing.json")]
    )
    assert result.exit_code == 1
    assert f"{broken}: not imported\n  - not valid JSON: Expecting value at line 1, column 25" in result.output
    assert f'{invalid}: not imported\n  - Node "A": parameters must be a JSON object.' in result.output
    assert "No such file or directory" in result.output
    with app.app_context():
        assert [w.name for w in Workflow.query] == ["Daily lead sync"], "good files are still imported"


def test_export_of_an_unknown_id(app):
    result = app.test_cli_runner().invoke(args=["workflow", "export", "nope"])
    assert result.exit_code == 1 and "No workflow with the id nope." in result.output


def test_import_to_a_named_user(app, owner):
    from tests.conftest import create_user

    create_user(app, "mia@example.com", "member-password", role="member")
    result = app.test_cli_runner().invoke(args=["workflow", "import", "--user", "mia@example.com", str(EXPORT_PATH)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.query(Workflow).one().owner.email == "mia@example.com"
    result = app.test_cli_runner().invoke(args=["workflow", "import", "--user", "ghost@example.com", str(EXPORT_PATH)])
    assert result.exit_code == 1 and "No user with the email ghost@example.com." in result.output


def test_the_real_flask_command(tmp_path, sqlite_url):
    env = {**os.environ, "DATABASE_URL": sqlite_url, "INSTANCE_PATH": str(tmp_path), "FLASK_APP": "app"}
    flask = [sys.executable, "-m", "flask"]

    def run(*args):
        return subprocess.run([*flask, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    created = run("user", "create", "--email", "cli@example.com", "--password", "long-password")
    assert created.returncode == 0, created.stderr
    imported = run("workflow", "import", str(EXPORT_PATH))
    assert imported.returncode == 0, imported.stderr
    workflow_id = imported.stdout.strip().rsplit(" ", 1)[1]
    exported = run("workflow", "export", workflow_id)
    assert json.loads(exported.stdout)["connections"] == EXPORT["connections"]
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"
