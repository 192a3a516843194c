"""Extensions, created unbound and bound in the app factory."""

from flask_migrate import Migrate

from privacy.database import db

__all__ = ["db", "migrate"]

migrate = Migrate(compare_type=True, render_as_batch=True)
