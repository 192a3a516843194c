"""The application factory: the one place that assembles core, privacy and every domain."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import privacy.cli
import privacy.views
import privacy.wiring
from config import load_config
from core import health, http, metrics
from core.database import configure_engines, db, migrate, sqlite_serialises_writers
from licensing import web, wiring
from privacy.legal import models as _legal_models  # noqa: F401

# Every domain's models are imported here, so the metadata (and Alembic) sees every table.
from licensing.accounts import models as _account_models  # noqa: F401
from licensing.accounts import personal_data, self_service
from licensing.accounts import views as customer_views
from licensing.activation import models as _activation_models  # noqa: F401
from licensing.activation import offline
from licensing.activation import views as desktop_views
from licensing.admin import cli as admin_cli
from licensing.admin import views as admin_views
from licensing.catalog import models as _catalog_models  # noqa: F401
from licensing.compliance import cli as compliance_cli
from licensing.compliance import views as compliance_views
from licensing.compliance import wiring as compliance_wiring
from licensing.signing import cli as keys_cli
from licensing.signing import models as _signing_models  # noqa: F401
from licensing.signing import readiness
from licensing.signing import views as signing_views
from licensing.support import models as _support_models  # noqa: F401
from licensing.support import staff
from licensing.support import views as support_views

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def create_app(config: dict | None = None) -> Flask:
    """Build the Tessera application; CONFIG overrides the environment's settings."""
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(load_config(overrides=config))
    configure_engines(app)
    if app.config["TESSERA_TRUSTED_PROXIES"] > 0:
        hops = app.config["TESSERA_TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    privacy_parts = privacy.wiring.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    api = http.TesseraApi(app)
    wiring.init_app(app)
    personal_data.register(privacy_parts.providers, privacy_parts.pseudonymizer)
    compliance_wiring.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                sqlite_serialises_writers(engine)
    for blueprint in (desktop_views.blp, signing_views.blp, offline.blp, support_views.blp,
                      admin_views.blp, health.blp):
        api.register_blueprint(blueprint)
    readiness.init_app(app)
    customer_views.init_app(api)
    self_service.init_app(api)
    compliance_views.init_app(api)
    privacy.views.init_app(app, api, staff.staff_actor)
    http.init_app(app)
    metrics.init_app(app)
    admin_cli.init_app(app)
    keys_cli.init_app(app)
    privacy.cli.init_app(app)
    compliance_cli.init_app(app)
    web.init_app(app)
    return app
