"""Every setting FlowForge reads, from the environment, with its default.

`load_config(instance_path)` builds the dict that `create_app` puts into `app.config`. Secrets that
are not given in the environment are generated once into the instance folder (mode 0600) so that
every process sharing that folder agrees on them; they are never logged.
"""
import base64
import os
import secrets
import tempfile

SETTINGS = (
    # (name, default, meaning) — the README's configuration table mirrors this list.
    ("DATABASE_URL", "sqlite:///<instance>/flowforge.db", "SQLAlchemy URL of the database"),
    ("REDIS_URL", "", "Redis URL; needed for EXECUTIONS_MODE=queue"),
    ("EXECUTIONS_MODE", "inline", "inline (thread pool in the web process) or queue (RQ workers)"),
    ("EXECUTIONS_CONCURRENCY", "5", "inline mode: production executions running at once per web process (manual runs exempt)"),
    ("SECRET_KEY", "<generated into instance/secret_key>", "signs sessions and CSRF tokens"),
    ("ENCRYPTION_KEY", "<generated into instance/encryption_key>", "encrypts stored credentials"),
    ("PUBLIC_URL", "http://127.0.0.1:5000", "the URL users and webhooks reach FlowForge at"),
    ("SESSION_COOKIE_SECURE", "false", "send the session cookie over HTTPS only"),
    ("LOGIN_MAX_FAILURES", "10", "failed logins per account or address before a lock-out"),
    ("LOGIN_LOCKOUT_MINUTES", "15", "the window failed logins are counted in"),
    ("WORKFLOWS_PER_PAGE", "50", "rows per page in the workflow list"),
    ("EXECUTIONS_DATA_PRUNE", "true", "delete finished executions on a rolling basis (by age and count)"),
    ("EXECUTIONS_DATA_MAX_AGE", "336", "hours a finished execution is kept; 0 keeps them regardless of age"),
    ("EXECUTIONS_DATA_PRUNE_MAX_COUNT", "10000", "executions kept at most (the newest); 0 for no limit"),
    ("EXECUTIONS_PRUNE_INTERVAL_S", "3600", "seconds between two pruning runs"),
    ("EXECUTIONS_HEARTBEAT_S", "5", "seconds between two heartbeats (and stop-request checks) of a running execution"),
    ("EXECUTIONS_CRASH_AFTER_S", "45", "a running execution without a heartbeat for this long is marked crashed"),
    ("EXECUTIONS_REQUEUE_CRASHED", "false", "run a crashed execution once more (a new execution, mode retry)"),
    ("EXECUTIONS_RECONCILE_INTERVAL_S", "15", "seconds between two reconciler runs (crashed and lost executions); 0 turns it off"),
)

EXECUTIONS_MODES = ("inline", "queue")


class ConfigError(ValueError):
    """A setting has a value FlowForge cannot use."""


def _env_bool(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _env_int(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None


def _int_at_least(name, default, minimum):
    value = _env_int(name, default)
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def normalize_database_url(url):
    """Accept the `postgres://` scheme that hosting platforms hand out."""
    if url.startswith("postgres://"):
        return "postgresql://" + url[len("postgres://"):]
    return url


def read_or_create_secret(instance_path, filename, make):
    """Return the secret stored in instance/<filename>, creating it atomically if absent.

    Several processes may start at once (gunicorn workers, a worker, a CLI call): the value is
    written to a temporary file and hard-linked into place, so exactly one creator wins and
    nobody ever reads a half-written file.
    """
    path = os.path.join(instance_path, filename)
    if not os.path.exists(path):
        os.makedirs(instance_path, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=instance_path, prefix=f".{filename}.")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(make())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp)
    with open(path) as handle:
        return handle.read().strip()


def _new_secret_key():
    return secrets.token_urlsafe(48)


def _new_encryption_key():
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def load_config(instance_path):
    mode = os.environ.get("EXECUTIONS_MODE", "inline").strip().lower() or "inline"
    if mode not in EXECUTIONS_MODES:
        raise ConfigError(f"EXECUTIONS_MODE must be one of {', '.join(EXECUTIONS_MODES)}, got {mode!r}")
    redis_url = os.environ.get("REDIS_URL", "").strip()
    if mode == "queue" and not redis_url:
        raise ConfigError("EXECUTIONS_MODE=queue needs REDIS_URL")
    database_url = os.environ.get("DATABASE_URL", "").strip() or (
        "sqlite:///" + os.path.join(instance_path, "flowforge.db")
    )
    secure_cookies = _env_bool("SESSION_COOKIE_SECURE", False)
    return {
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": redis_url,
        "EXECUTIONS_MODE": mode,
        "EXECUTIONS_CONCURRENCY": _int_at_least("EXECUTIONS_CONCURRENCY", 5, 1),
        "SECRET_KEY": os.environ.get("SECRET_KEY")
        or read_or_create_secret(instance_path, "secret_key", _new_secret_key),
        "ENCRYPTION_KEY": os.environ.get("ENCRYPTION_KEY")
        or read_or_create_secret(instance_path, "encryption_key", _new_encryption_key),
        "PUBLIC_URL": os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "LOGIN_MAX_FAILURES": _env_int("LOGIN_MAX_FAILURES", 10),
        "LOGIN_LOCKOUT_MINUTES": _env_int("LOGIN_LOCKOUT_MINUTES", 15),
        "WORKFLOWS_PER_PAGE": _env_int("WORKFLOWS_PER_PAGE", 50),
        "EXECUTIONS_DATA_PRUNE": _env_bool("EXECUTIONS_DATA_PRUNE", True),
        "EXECUTIONS_DATA_MAX_AGE": _int_at_least("EXECUTIONS_DATA_MAX_AGE", 336, 0),
        "EXECUTIONS_DATA_PRUNE_MAX_COUNT": _int_at_least("EXECUTIONS_DATA_PRUNE_MAX_COUNT", 10_000, 0),
        "EXECUTIONS_PRUNE_INTERVAL_S": _int_at_least("EXECUTIONS_PRUNE_INTERVAL_S", 3600, 1),
        "EXECUTIONS_HEARTBEAT_S": _int_at_least("EXECUTIONS_HEARTBEAT_S", 5, 1),
        "EXECUTIONS_CRASH_AFTER_S": _int_at_least("EXECUTIONS_CRASH_AFTER_S", 45, 1),
        "EXECUTIONS_REQUEUE_CRASHED": _env_bool("EXECUTIONS_REQUEUE_CRASHED", False),
        "EXECUTIONS_RECONCILE_INTERVAL_S": _int_at_least("EXECUTIONS_RECONCILE_INTERVAL_S", 15, 0),
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        "WTF_CSRF_TIME_LIMIT": None,
    }
