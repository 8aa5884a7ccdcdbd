"""Entry point: `flask --app wsgi run` (with the in-process worker) and `gunicorn wsgi:app`."""
import os

from app import create_app

# The in-process worker runs in the web process unless jobs go to RQ workers (REDIS_URL).
app = create_app({"INPROCESS_WORKER": os.environ.get("INPROCESS_WORKER", "1") not in ("0", "false", "no")})
