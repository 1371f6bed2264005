"""What active workflows have registered: webhook paths and schedules."""
from app.extensions import db
from app.models.base import created_at_column


class Webhook(db.Model):
    __tablename__ = "webhooks"

    id = db.Column(db.Integer, primary_key=True)
    workflow_id = db.Column(
        db.String(16), db.ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False, index=True
    )
    node_name = db.Column(db.String(255), nullable=False)
    method = db.Column(db.String(10), nullable=False)
    path = db.Column(db.String(512), nullable=False)
    # Paths with `:params` match by segment count first, then segment by segment.
    segment_count = db.Column(db.Integer, nullable=False, default=1)
    is_dynamic = db.Column(db.Boolean, nullable=False, default=False)
    created_at = created_at_column()
    __table_args__ = (db.UniqueConstraint("method", "path", name="uq_webhooks_method_path"),)


class Schedule(db.Model):
    __tablename__ = "schedules"

    id = db.Column(db.Integer, primary_key=True)
    workflow_id = db.Column(
        db.String(16), db.ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False, index=True
    )
    node_name = db.Column(db.String(255), nullable=False)
    rule = db.Column(db.JSON, nullable=False)
    timezone = db.Column(db.String(64), nullable=False, default="UTC")
    # A hash of the definition: several schedulers registering the same rule agree on one job.
    job_id = db.Column(db.String(64), nullable=False, unique=True)
    next_run_at = db.Column(db.DateTime, index=True)
    last_run_at = db.Column(db.DateTime)
    created_at = created_at_column()
