"""Small helpers for driving the app through the Flask test client with CSRF switched on."""
import re
import threading
from contextlib import contextmanager

from werkzeug.serving import make_server

OWNER_EMAIL = "owner@example.com"
OWNER_PASSWORD = "correct horse battery"

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_from(html):
    match = _CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1) or match.group(2)


def csrf_token(client, page="/login"):
    """A CSRF token valid for this client's session, read from a page that has a form."""
    return csrf_from(client.get(page).get_data(as_text=True))


def post_form(client, url, data=None, page=None, **kwargs):
    """POST like a browser: with the CSRF token of the page the form is on (default: the URL)."""
    data = dict(data or {})
    data["csrf_token"] = csrf_token(client, page or url)
    return client.post(url, data=data, **kwargs)


def login(client, email=OWNER_EMAIL, password=OWNER_PASSWORD):
    return post_form(client, "/login", {"email": email, "password": password})


@contextmanager
def serving(app):
    """Serve `app` over real HTTP on a free port (threaded: browsers open several connections
    and a websocket holds its thread); yields the base URL and cleans up afterwards."""
    from app.extensions import db

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
