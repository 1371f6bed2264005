"""One Alembic history that upgrades, downgrades and upgrades again on SQLite and PostgreSQL,
and that matches the models exactly."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from app.extensions import db
from tests.conftest import make_app

EXPECTED_TABLES = {
    "users", "workflows", "tags", "workflow_tags", "workflow_history", "executions",
    "execution_data", "credentials", "webhooks", "schedules", "variables", "api_keys", "audit_log",
}


def test_single_head(app):
    with app.app_context():
        script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
        assert len(script.get_heads()) == 1


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return request.getfixturevalue("empty_postgres_url")


def _tables(app):
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade(empty_database_url):
    app = make_app(empty_database_url)
    with app.app_context():
        upgrade()
        assert _tables(app) == EXPECTED_TABLES
        downgrade(revision="base")
        assert _tables(app) == set()
        upgrade()
        assert _tables(app) == EXPECTED_TABLES
        with db.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
        assert diff == [], f"the models and the migrations differ: {diff}"
        db.session.remove()
        db.engine.dispose()
