"""HTMX helpers in one place: header names, request detection, fragment-or-page rendering."""
from flask import redirect as flask_redirect
from flask import render_template, request

HX_REQUEST = "HX-Request"
HX_REDIRECT = "HX-Redirect"
HX_TARGET = "HX-Target"
HX_TRIGGER = "HX-Trigger"
HX_PUSH_URL = "HX-Push-Url"
HX_BOOSTED = "HX-Boosted"
HX_HISTORY_RESTORE = "HX-History-Restore-Request"


def is_htmx():
    """An HTMX request that wants a fragment.

    Boosted links and history restores (Back after htmx's history cache dropped the page) send
    HX-Request too, but replace the whole body, so they need the full page.
    """
    headers = request.headers
    return (
        headers.get(HX_REQUEST) == "true"
        and headers.get(HX_BOOSTED) != "true"
        and headers.get(HX_HISTORY_RESTORE) != "true"
    )


def page(template, fragment, status=200, **context):
    """Render `fragment` for HTMX requests and the full `template` otherwise."""
    body = render_template(fragment if is_htmx() else template, **context)
    return body, status, {"Vary": HX_REQUEST}


def redirect(location):
    """A redirect that HTMX follows as a full page load (a plain 302 would be swapped in)."""
    if is_htmx():
        return "", 204, {HX_REDIRECT: location}
    return flask_redirect(location)
