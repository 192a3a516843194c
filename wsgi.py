"""WSGI entry point: gunicorn -c config/gunicorn.conf.py wsgi:app"""

from config.settings import start_or_exit
from licensing import create_app

app = start_or_exit(create_app)
