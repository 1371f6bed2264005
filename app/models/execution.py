"""Executions and their (separately stored, compressed) run data."""
import json
import zlib

from app.extensions import db
from app.models.base import created_at_column

EXECUTION_STATUSES = ("new", "queued", "running", "waiting", "success", "error", "canceled", "crashed")
EXECUTION_MODES = ("manual", "webhook", "schedule", "retry", "error", "cli", "api")


class Execution(db.Model):
    __tablename__ = "executions"

    id = db.Column(db.Integer, primary_key=True)
    workflow_id = db.Column(db.String(16), db.ForeignKey("workflows.id", ondelete="CASCADE"))
    status = db.Column(db.String(16), nullable=False, default="new")
    mode = db.Column(db.String(16), nullable=False, default="manual")
    created_at = created_at_column()
    started_at = db.Column(db.DateTime)
    stopped_at = db.Column(db.DateTime)
    wait_till = db.Column(db.DateTime, index=True)
    heartbeat_at = db.Column(db.DateTime)
    # Set by `request_cancel` from any process; the process running the execution polls for it.
    cancel_requested_at = db.Column(db.DateTime)
    retry_of = db.Column(db.Integer, db.ForeignKey("executions.id", ondelete="SET NULL"))
    workflow_snapshot = db.Column(db.JSON)
    last_node = db.Column(db.String(255))
    error_message = db.Column(db.Text)
    custom_data = db.Column(db.JSON)
    __table_args__ = (
        db.Index("ix_executions_workflow_started", "workflow_id", "started_at"),
        db.Index("ix_executions_status_started", "status", "started_at"),
    )

    workflow = db.relationship("Workflow")
    data = db.relationship(
        "ExecutionData", uselist=False, cascade="all, delete-orphan", passive_deletes=True
    )


class ExecutionData(db.Model):
    __tablename__ = "execution_data"

    execution_id = db.Column(
        db.Integer, db.ForeignKey("executions.id", ondelete="CASCADE"), primary_key=True
    )
    blob = db.Column(db.LargeBinary, nullable=False)

    @staticmethod
    def pack(value):
        return zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 6)

    @staticmethod
    def unpack(blob):
        return json.loads(zlib.decompress(blob))

    @property
    def value(self):
        return self.unpack(self.blob)

    @value.setter
    def value(self, value):
        self.blob = self.pack(value)
