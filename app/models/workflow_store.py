"""Saving workflows: validation, history and tags in one place for the web UI and the CLI.

Nothing here commits; the caller commits once, so a failed validation stores nothing.
"""
from app.engine.workflow import Problem, WorkflowInvalid, validate
from app.extensions import db
from app.models.workflow import Workflow

MAX_NAME_LENGTH = 255


class VersionConflict(Exception):
    """The workflow was saved by someone else since the caller loaded it."""

    def __init__(self, current_version):
        self.current_version = current_version
        super().__init__(
            f"This workflow was changed elsewhere (now version {current_version}). "
            "Reload it to see the latest version; your changes were not saved."
        )


def split_import(payload):
    """The workflows in an import: n8n exports one object, `export --all` a list of them."""
    if isinstance(payload, list):
        if not payload:
            raise WorkflowInvalid([Problem("The file holds an empty list: there is no workflow to import.")])
        return payload
    return [payload]


def clean_name(name):
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        raise WorkflowInvalid([Problem("The workflow needs a name.")])
    if len(name) > MAX_NAME_LENGTH:
        raise WorkflowInvalid([Problem(f"The workflow name is longer than {MAX_NAME_LENGTH} characters.")])
    return name


def prepare_content(data, fallback_name=None):
    """Validated versioned content from workflow JSON, plus the warnings; raises WorkflowInvalid."""
    problems = validate(data)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise WorkflowInvalid(errors)
    content = {
        "name": clean_name(data.get("name") or fallback_name),
        "nodes": data["nodes"],
        "connections": data.get("connections") or {},
        "settings": data.get("settings") or {},
        "pinData": data.get("pinData") or {},
    }
    return content, [p for p in problems if p.severity == "warning"]


def _tag_names(data):
    names = []
    for tag in data.get("tags") or []:
        if isinstance(tag, str):
            names.append(tag)
        elif isinstance(tag, dict) and isinstance(tag.get("name"), str):
            names.append(tag["name"])
    return names


def create_workflow(data, owner, fallback_name=None):
    """A new (inactive) workflow from JSON, with version 1 in its history; returns (workflow, warnings)."""
    content, warnings = prepare_content(data, fallback_name)
    workflow = Workflow(owner_id=owner.id if owner else None, active=False, meta=data.get("meta") or None)
    workflow.apply_content(content)
    workflow.set_tags(_tag_names(data))
    db.session.add(workflow)
    db.session.flush()
    workflow.record_version(owner, first=True)
    return workflow, warnings


def save_content(workflow, data, author, expected_version=None):
    """Replace a workflow's content, as one new version; returns the warnings."""
    if expected_version is not None and expected_version != workflow.version:
        raise VersionConflict(workflow.version)
    content, warnings = prepare_content(data, fallback_name=workflow.name)
    workflow.apply_content(content)
    workflow.record_version(author)
    return warnings


def rename_workflow(workflow, name, author):
    content = workflow.content()
    content["name"] = clean_name(name)
    workflow.apply_content(content)
    workflow.record_version(author)


def restore_version(workflow, version, author):
    """Make an old version current again, recorded as a new version (history is never rewritten)."""
    entry = workflow.history.filter_by(version=version).first()
    if entry is None:
        raise LookupError(f"Version {version} of this workflow does not exist.")
    workflow.apply_content(entry.content())
    workflow.record_version(author)
    return entry


def import_workflows(payload, owner):
    """Create every workflow of an import (one object or a list), or none: returns [(workflow, warnings)].

    One invalid workflow rejects the whole import, with its problems prefixed by its position.
    """
    payloads = split_import(payload)
    created, problems = [], []
    for position, data in enumerate(payloads, start=1):
        try:
            created.append(create_workflow(data, owner, fallback_name="Imported workflow"))
        except WorkflowInvalid as exc:
            prefix = f"Workflow {position}: " if len(payloads) > 1 else ""
            problems.extend(Problem(prefix + p.message, p.node) for p in exc.problems)
    if problems:
        raise WorkflowInvalid(problems)
    return created


def duplicate_workflow(workflow, owner):
    data = workflow.content()
    data["name"] = clean_name(f"{workflow.name} (copy)"[:MAX_NAME_LENGTH])
    data["tags"] = [tag.name for tag in workflow.tags]
    copy, _ = create_workflow(data, owner)
    return copy
