"""FlowForge: the application factory."""
import logging
import os

from flask import Flask

from app.config import load_config
from app.extensions import csrf, db, login_manager, migrate, sock


def create_app(config=None):
    """Build the app. `config` (a dict) overrides what the environment says; tests use it."""
    app = Flask(__name__, instance_path=os.environ.get("INSTANCE_PATH") or None)
    app.config.update(load_config(app.instance_path))
    if config:
        app.config.update(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    sock.init_app(app)

    from app import models  # noqa: F401  (registers every table with the metadata)
    from app.nodes import load_all

    load_all()

    from app.runtime.dispatch import init_dispatcher

    init_dispatcher(app)

    from app.runtime.events import init_event_bus

    init_event_bus(app)

    from app.web import register_web

    register_web(app)

    from app.cli import register_cli

    register_cli(app)
    return app
