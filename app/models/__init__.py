"""All models, importable from one place (Alembic's autogenerate needs every table imported)."""
from app.models.credential import Credential
from app.models.execution import EXECUTION_MODES, EXECUTION_STATUSES, Execution, ExecutionData
from app.models.settings import ApiKey, AuditLog, Variable
from app.models.trigger import Schedule, Webhook
from app.models.user import ROLES, User
from app.models.workflow import Tag, Workflow, WorkflowHistory, workflow_tags

__all__ = [
    "ApiKey", "AuditLog", "Credential", "EXECUTION_MODES", "EXECUTION_STATUSES", "Execution",
    "ExecutionData", "ROLES", "Schedule", "Tag", "User", "Variable", "Webhook", "Workflow",
    "WorkflowHistory", "workflow_tags",
]
