"""Workflows, their tags and their saved versions."""
import uuid

from sqlalchemy.orm import deferred

from app.extensions import db
from app.models.base import created_at_column, new_id, updated_at_column, utcnow

workflow_tags = db.Table(
    "workflow_tags",
    db.Column("workflow_id", db.String(16), db.ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True),
    db.Column("tag_id", db.Integer, db.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)

MAX_TAG_LENGTH = 64


class Tag(db.Model):
    __tablename__ = "tags"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(MAX_TAG_LENGTH), nullable=False, unique=True)
    created_at = created_at_column()

    @classmethod
    def get_or_create(cls, name):
        name = name.strip()[:MAX_TAG_LENGTH]
        tag = cls.query.filter_by(name=name).first()
        if tag is None:
            tag = cls(name=name)
            db.session.add(tag)
        return tag


class Workflow(db.Model):
    __tablename__ = "workflows"

    id = db.Column(db.String(16), primary_key=True, default=new_id)
    name = db.Column(db.String(255), nullable=False, index=True)
    # The graph columns are deferred: lists page through thousands of rows and never need them.
    nodes = deferred(db.Column(db.JSON, nullable=False, default=list))
    connections = deferred(db.Column(db.JSON, nullable=False, default=dict))
    settings = deferred(db.Column(db.JSON, nullable=False, default=dict))
    pin_data = deferred(db.Column(db.JSON, nullable=False, default=dict))
    static_data = deferred(db.Column(db.JSON))
    meta = deferred(db.Column(db.JSON))
    active = db.Column(db.Boolean, nullable=False, default=False)
    version = db.Column(db.Integer, nullable=False, default=1)
    version_id = db.Column(db.String(36), nullable=False, default=lambda: str(uuid.uuid4()))
    node_count = db.Column(db.Integer, nullable=False, default=0)
    owner_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at = created_at_column()
    updated_at = updated_at_column()
    __table_args__ = (db.Index("ix_workflows_updated_at", "updated_at"),)

    owner = db.relationship("User")
    tags = db.relationship("Tag", secondary=workflow_tags, lazy="selectin", order_by="Tag.name")
    history = db.relationship(
        "WorkflowHistory", back_populates="workflow", cascade="all, delete-orphan",
        passive_deletes=True, order_by="WorkflowHistory.version.desc()", lazy="dynamic",
    )

    def content(self):
        """The versioned part of a workflow, in n8n's key names."""
        return {
            "name": self.name,
            "nodes": self.nodes or [],
            "connections": self.connections or {},
            "settings": self.settings or {},
            "pinData": self.pin_data or {},
        }

    def apply_content(self, content):
        self.name = content["name"]
        self.nodes = content["nodes"]
        self.connections = content["connections"]
        self.settings = content["settings"]
        self.pin_data = content["pinData"]
        self.node_count = len(content["nodes"])

    def to_n8n(self):
        """The n8n export format: what `n8n export:workflow` writes for one workflow."""
        data = self.content()
        data.update({
            "id": self.id,
            "active": self.active,
            "versionId": self.version_id,
            "meta": self.meta or {},
            "tags": [{"name": tag.name} for tag in self.tags],
            "createdAt": self.created_at.isoformat() + "Z",
            "updatedAt": self.updated_at.isoformat() + "Z",
        })
        return data

    def set_tags(self, names):
        unique = []
        for name in names:
            name = name.strip()
            if name and name.lower() not in (n.lower() for n in unique):
                unique.append(name)
        self.tags = [Tag.get_or_create(name) for name in unique]

    def record_version(self, author, first=False):
        """Number the current content as a new version and store it in the history."""
        self.version = 1 if first else self.version + 1
        self.version_id = str(uuid.uuid4())
        self.updated_at = utcnow()
        db.session.add(WorkflowHistory.snapshot(self, author))


class WorkflowHistory(db.Model):
    __tablename__ = "workflow_history"

    id = db.Column(db.Integer, primary_key=True)
    workflow_id = db.Column(
        db.String(16), db.ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False
    )
    version = db.Column(db.Integer, nullable=False)
    name = db.Column(db.String(255), nullable=False)
    nodes = deferred(db.Column(db.JSON, nullable=False))
    connections = deferred(db.Column(db.JSON, nullable=False))
    settings = deferred(db.Column(db.JSON, nullable=False))
    pin_data = deferred(db.Column(db.JSON, nullable=False))
    author_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    created_at = created_at_column()
    __table_args__ = (db.UniqueConstraint("workflow_id", "version", name="uq_workflow_history_version"),)

    workflow = db.relationship("Workflow", back_populates="history")
    author = db.relationship("User")

    @classmethod
    def snapshot(cls, workflow, author):
        content = workflow.content()
        return cls(
            workflow=workflow, version=workflow.version, name=content["name"],
            nodes=content["nodes"], connections=content["connections"],
            settings=content["settings"], pin_data=content["pinData"],
            author_id=author.id if author else None,
        )

    def content(self):
        return {
            "name": self.name,
            "nodes": self.nodes,
            "connections": self.connections,
            "settings": self.settings,
            "pinData": self.pin_data,
        }
