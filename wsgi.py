"""WSGI entry point: gunicorn -c config/gunicorn.conf.py wsgi:app"""

from licensing import create_app

app = create_app()
