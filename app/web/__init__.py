"""The web layer: blueprints, the login gate and error pages."""
from flask import render_template
from flask_wtf.csrf import CSRFError

from app.web.security import enforce_login


def register_web(app):
    from app.runtime import pruning, reconciler
    from app.web import admin, auth, executions, health, settings, workflows, ws

    for module in (auth, executions, health, settings, workflows, ws):
        app.register_blueprint(module.bp)
    app.before_request(enforce_login)
    admin.init_app(app)
    pruning.init_app(app)
    reconciler.init_app(app)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template("error.html", title="Form expired",
                               message="The form was missing its security token or it expired. "
                                       "Go back, reload the page and try again."), 400

    @app.errorhandler(403)
    def forbidden(_error):
        return render_template("error.html", title="Not allowed",
                               message="Your account is not allowed to do that."), 403

    @app.errorhandler(404)
    def not_found(_error):
        return render_template("error.html", title="Not found",
                               message="There is nothing at this address."), 404

    @app.errorhandler(413)
    def too_large(_error):
        return render_template("error.html", title="Too large",
                               message="The upload is larger than the 16 MB limit."), 413
