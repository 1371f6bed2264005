"""How fast the workflow list answers with 10,000 workflows on the embedded SQLite database.

Run from the project root: `.venv/bin/python bench/workflow_list.py`. Progress goes to stdout as
it happens; the last line is one JSON object with the median times, for scripts to read.
"""
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

WORKFLOWS = 10_000
RUNS = 30
WARMUP = 5
SEARCH_TERM = "invoice"
EMAIL = "bench@example.com"
PASSWORD = "bench password 1"

VERBS = ("Sync", "Import", "Export", "Notify", "Enrich", "Archive", "Score", "Route", "Backup", "Report")
NOUNS = ("customers", "leads", "orders", "invoices", "tickets", "contacts", "payments", "signups",
         "deals", "shipments", "reviews", "subscriptions")
TAGS = ("sales", "nightly", "finance", "support", "marketing", "ops", "crm", "billing", "alerts", "eu")
ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

# The app reads INSTANCE_PATH at import time (secrets are generated there), and the script is run
# as a file, so neither the instance folder nor the project root can be left to defaults.
INSTANCE = tempfile.mkdtemp(prefix="flowforge-bench-")
os.environ["INSTANCE_PATH"] = INSTANCE
for name in ("DATABASE_URL", "REDIS_URL", "EXECUTIONS_MODE"):
    os.environ.pop(name, None)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Tag, User, Workflow, workflow_tags  # noqa: E402
from app.models.base import utcnow  # noqa: E402


def log(message):
    print(message, flush=True)


def make_nodes(rng, noun):
    """A trigger, a fetch, and one to four processing steps chained together, like a real export."""
    trigger = rng.choice((
        ("Schedule Trigger", "n8n-nodes-base.scheduleTrigger", 1.2,
         {"rule": {"interval": [{"field": "hours", "hoursInterval": rng.choice((1, 6, 24))}]}}),
        ("Webhook", "n8n-nodes-base.webhook", 2, {"path": str(uuid.UUID(int=rng.getrandbits(128))),
                                                  "httpMethod": "POST"}),
        ("When clicking ‘Test workflow’", "n8n-nodes-base.manualTrigger", 1, {}),
    ))
    steps = [trigger, ("Fetch " + noun, "n8n-nodes-base.httpRequest", 4.2,
                       {"url": f"https://api.example.com/{noun}", "options": {"timeout": 10000}})]
    extra = (
        ("Only new", "n8n-nodes-base.if", 2, {"conditions": {"conditions": [
            {"leftValue": "={{ $json.status }}", "rightValue": "new",
             "operator": {"type": "string", "operation": "equals"}}], "combinator": "and"}}),
        ("Set fields", "n8n-nodes-base.set", 3.4, {"assignments": {"assignments": [
            {"name": "source", "value": "flowforge", "type": "string"}]}}),
        ("Transform", "n8n-nodes-base.code", 2, {"jsCode": "return $input.all();"}),
        ("Wait", "n8n-nodes-base.wait", 1.1, {"amount": 30}),
        ("Done", "n8n-nodes-base.noOp", 1, {}),
    )
    steps += rng.sample(extra, rng.randint(1, 4))
    nodes = [{
        "id": str(uuid.UUID(int=rng.getrandbits(128))), "name": name, "type": node_type,
        "typeVersion": version, "position": [240 + 220 * i, 300], "parameters": parameters,
    } for i, (name, node_type, version, parameters) in enumerate(steps)]
    connections = {
        a["name"]: {"main": [[{"node": b["name"], "type": "main", "index": 0}]]}
        for a, b in zip(nodes, nodes[1:])
    }
    return nodes, connections


def seed(owner_id, rng):
    db.session.execute(insert(Tag.__table__), [
        {"name": name, "created_at": datetime(2024, 1, 1)} for name in TAGS
    ])
    tag_ids = [tag_id for (tag_id,) in db.session.query(Tag.id)]
    now = utcnow().replace(microsecond=0)
    ids = set()
    rows, links = [], []
    for i in range(WORKFLOWS):
        while (workflow_id := "".join(rng.choices(ID_ALPHABET, k=16))) in ids:
            pass
        ids.add(workflow_id)
        noun = rng.choice(NOUNS)
        nodes, connections = make_nodes(rng, noun)
        created = now - timedelta(days=rng.uniform(1, 730))
        updated = created + (now - created) * rng.random()
        version = rng.randint(1, 40)
        rows.append({
            "id": workflow_id,
            "name": f"{rng.choice(VERBS)} {noun} {i:04d}",
            "nodes": nodes,
            "connections": connections,
            "settings": {"executionOrder": "v1", "timezone": rng.choice(("UTC", "Europe/Berlin", "America/New_York"))},
            "pin_data": {},
            "active": rng.random() < 0.3,
            "version": version,
            "version_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "node_count": len(nodes),
            "owner_id": owner_id,
            "created_at": created,
            "updated_at": updated,
        })
        links += [{"workflow_id": workflow_id, "tag_id": tag_id}
                  for tag_id in rng.sample(tag_ids, rng.choice((0, 1, 1, 2, 3)))]
    db.session.execute(insert(Workflow.__table__), rows)
    db.session.execute(insert(workflow_tags), links)
    db.session.commit()
    return sum(1 for row in rows if SEARCH_TERM in row["name"].lower()), len(links)


def time_get(client, url, label):
    for _ in range(WARMUP):
        assert client.get(url).status_code == 200
    times = []
    for run in range(1, RUNS + 1):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
        if run % 10 == 0:
            log(f"  {label}: {run}/{RUNS} runs, median so far {statistics.median(times):.1f} ms")
    return statistics.median(times), response.get_data(as_text=True)


def main():
    database = os.path.join(INSTANCE, "bench.db")
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
    })
    try:
        with app.app_context():
            log(f"Migrating a fresh database in {INSTANCE}")
            upgrade()
            owner = User.create(EMAIL, PASSWORD, "Bench Owner", role="owner")
            db.session.commit()
            started = time.perf_counter()
            matches, links = seed(owner.id, random.Random(42))
            log(f"Inserted {WORKFLOWS} workflows and {links} tag links in "
                f"{time.perf_counter() - started:.1f} s ({matches} names contain {SEARCH_TERM!r})")

        client = app.test_client()
        response = client.post("/login", data={"email": EMAIL, "password": PASSWORD})
        assert response.status_code == 302, f"login failed with {response.status_code}"

        log("GET /workflows")
        list_ms, body = time_get(client, "/workflows", "list")
        assert f"{WORKFLOWS} workflows" in body, "the list does not count every workflow"
        log(f"GET /workflows?q={SEARCH_TERM}")
        search_ms, body = time_get(client, f"/workflows?q={SEARCH_TERM}", "search")
        assert f"{matches} workflows" in body, "the search does not find every match"

        print(json.dumps({"workflows": WORKFLOWS, "list_ms": round(list_ms, 1), "search_ms": round(search_ms, 1)}))
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        shutil.rmtree(INSTANCE, ignore_errors=True)


if __name__ == "__main__":
    main()
