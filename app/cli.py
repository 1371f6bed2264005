"""Command-line interface: `flask user …`, `flask workflow …` and `flask executions …`."""
import json
import sys

import click
from flask import Flask
from flask.cli import AppGroup

from app.engine.workflow import WorkflowInvalid
from app.extensions import db
from app.models import AuditLog, Execution, ROLES, User, Workflow
from app.engine.execute import run_workflow
from app.models.workflow_store import import_workflows, prepare_content
from app.runtime.executions import create_execution, load_workflow_json, request_cancel, run_execution
from app.runtime.pruning import prune_executions
from app.runtime.reconciler import reconcile
from app.runtime.retry import RetryRefused, create_retry

user_cli = AppGroup("user", help="Manage user accounts.")
workflow_cli = AppGroup("workflow", help="Import, export and list workflows.")


@user_cli.command("create")
@click.option("--email", prompt=True, help="Login email address.")
@click.option("--name", default="", help="Display name.")
@click.option("--role", type=click.Choice(ROLES), default=None,
              help="Role; the first user is always the owner.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Password (prompted for when omitted).")
def create_user(email, name, role, password):
    """Create a user. The first user becomes the owner."""
    first = db.session.query(User.id).first() is None
    if role == "owner" and not first:
        raise click.ClickException("There is already an owner; choose admin or member.")
    role = "owner" if first else (role or "member")
    try:
        user = User.create(email, password, name, role=role)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    AuditLog.record("user.created", user=user, actor="cli", role=role)
    db.session.commit()
    click.echo(f"Created {user.email} ({user.role}).")


def _import_owner(email):
    if email:
        user = User.by_email(email)
        if user is None:
            raise click.ClickException(f"No user with the email {email}.")
        return user
    return User.query.filter_by(role="owner").first()


@workflow_cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--user", "email", default=None, help="Owner of the imported workflows (default: the instance owner).")
def import_command(files, email):
    """Import n8n workflow JSON files (one workflow or a list of them per file).

    Each file is imported whole or not at all; the command fails if any file failed.
    """
    owner = _import_owner(email)
    failed = 0
    for path in files:
        try:
            created = _import_file(path, owner)
        except (OSError, ValueError) as exc:
            db.session.rollback()
            failed += 1
            click.echo(f"{path}: not imported", err=True)
            problems = exc.problems if isinstance(exc, WorkflowInvalid) else [_describe_read_error(exc)]
            for problem in problems:
                click.echo(f"  - {problem}", err=True)
            continue
        db.session.commit()
        for workflow, warnings in created:
            click.echo(f"{path}: imported {workflow.name!r} as {workflow.id}")
            for warning in warnings:
                click.echo(f"  warning: {warning}", err=True)
    if failed:
        sys.exit(1)


def _describe_read_error(exc):
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


def _import_file(path, owner):
    with open(path, encoding="utf-8-sig") as handle:
        created = import_workflows(json.load(handle), owner)
    for workflow, _ in created:
        AuditLog.record("workflow.imported", user=owner, actor="cli", target=workflow)
    return created


@workflow_cli.command("export")
@click.argument("workflow_id")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file instead of standard output.")
def export_workflow(workflow_id, output):
    """Print a workflow as n8n-compatible JSON."""
    workflow = db.session.get(Workflow, workflow_id)
    if workflow is None:
        raise click.ClickException(f"No workflow with the id {workflow_id}.")
    text = json.dumps(workflow.to_n8n(), indent=2)
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        click.echo(f"Wrote {output}.", err=True)
    else:
        click.echo(text)


@workflow_cli.command("run")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per file and line.")
@click.option("--start", "start_node", default=None, help="Start at this node instead of the trigger.")
@click.option("--save", is_flag=True, help="Store each run as an execution (mode cli).")
def run_command(files, as_json, start_node, save):
    """Run workflow JSON files without the web server.

    Exits 0 only if every workflow ran successfully.
    """
    ok = True
    for path in files:
        outcome = _run_file(path, start_node, save)
        ok = ok and outcome["status"] == "success"
        if as_json:
            click.echo(json.dumps(outcome, separators=(",", ":"), default=str))
        else:
            _echo_summary(outcome)
    sys.exit(0 if ok else 1)


def _run_file(path, start_node, save):
    try:
        with open(path, encoding="utf-8-sig") as handle:
            data = json.load(handle)
        result = _run_data(data, start_node, save)
    except (OSError, ValueError) as exc:
        message = "; ".join(str(p) for p in exc.problems) if isinstance(exc, WorkflowInvalid) \
            else _describe_read_error(exc)
        return {"file": path, "status": "error", "runData": {}, "lastNodeExecuted": None,
                "error": {"message": message}}
    return {"file": path, **result.to_json()}


def _run_data(data, start_node, save):
    if not save:
        return run_workflow(data, mode="cli", start_node=start_node, workflow_loader=load_workflow_json)
    content, _ = prepare_content(data, fallback_name="CLI run")
    execution = create_execution(content, mode="cli")
    db.session.commit()
    result = run_execution(execution.id, start_node=start_node)
    click.echo(f"saved as execution {execution.id}", err=True)
    return result


def _echo_summary(outcome):
    click.echo(f"{outcome['file']}: {outcome['status']}")
    for name, runs in outcome["runData"].items():
        for index, run in enumerate(runs):
            counts = [len(items or []) for items in ((run.get("data") or {}).get("main") or [])]
            label = f"{name}" + (f" (run {index + 1})" if len(runs) > 1 else "")
            click.echo(f"  {label}: {run['executionStatus']}, items per output {counts}")
    if outcome.get("error"):
        click.echo(f"  error: {outcome['error'].get('message')}")


@workflow_cli.command("list")
def list_workflows():
    """List workflows: id, active flag and name."""
    for workflow in Workflow.query.order_by(Workflow.name):
        click.echo(f"{workflow.id}\t{'active' if workflow.active else 'inactive'}\t{workflow.name}")


executions_cli = AppGroup("executions", help="Prune, retry, stop and reconcile stored executions.")


@executions_cli.command("prune")
@click.option("--max-age", type=click.IntRange(min=0), default=None,
              help="Hours a finished execution is kept (default: EXECUTIONS_DATA_MAX_AGE; 0: no age limit).")
@click.option("--max-count", type=click.IntRange(min=0), default=None,
              help="Executions kept at most (default: EXECUTIONS_DATA_PRUNE_MAX_COUNT; 0: no limit).")
def prune_command(max_age, max_count):
    """Delete finished executions older than the max age or beyond the max count, now."""
    result = prune_executions(max_age_hours=max_age, max_count=max_count)
    click.echo(f"Pruned {result.total} executions ({result.by_age} by age, {result.by_count} by count).")


@executions_cli.command("retry")
@click.argument("execution_id", type=int)
@click.option("--current", "use_current", is_flag=True,
              help="Run the workflow as it is now instead of as it was when the execution ran.")
def retry_command(execution_id, use_current):
    """Retry a failed, crashed or canceled execution here and now; exits 0 if the retry succeeded."""
    execution = db.session.get(Execution, execution_id)
    if execution is None:
        raise click.ClickException(f"No execution with the id {execution_id}.")
    try:
        retry = create_retry(execution, use_current=use_current)
    except RetryRefused as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    result = run_execution(retry.id)
    status = result.status if result is not None else db.session.get(Execution, retry.id).status
    click.echo(f"Execution {retry.id} (retry of {execution_id}): {status}")
    sys.exit(0 if status == "success" else 1)


@executions_cli.command("stop")
@click.argument("execution_id", type=int)
def stop_command(execution_id):
    """Stop an execution, whichever process runs it; it ends `canceled` at its next node boundary."""
    status = request_cancel(execution_id)
    if status is None:
        raise click.ClickException(f"No execution with the id {execution_id}.")
    if status == "running":
        click.echo(f"Execution {execution_id}: stop requested; it stops before its next node starts.")
    else:
        click.echo(f"Execution {execution_id}: {status}")


@executions_cli.command("reconcile")
def reconcile_command():
    """Mark silent running executions crashed and re-enqueue queued ones Redis lost, now."""
    result = reconcile()
    click.echo(f"Crashed {len(result.crashed)}, re-ran {len(result.rerun)}, re-enqueued {len(result.requeued)}.")


def register_cli(app: Flask):
    app.cli.add_command(user_cli)
    app.cli.add_command(workflow_cli)
    app.cli.add_command(executions_cli)
