"""Entry point: `flask --app wsgi run` (with the in-process worker) and `gunicorn wsgi:app`."""
import os
import sys

from app import ConfigError, create_app

# The in-process worker runs in the web process unless jobs go to RQ workers (REDIS_URL).
try:
    app = create_app({"INPROCESS_WORKER": os.environ.get("INPROCESS_WORKER", "1") not in ("0", "false", "no")})
except ConfigError as exc:
    # Every command and server starts here: say what to fix, without a traceback, and exit 3,
    # gunicorn's "worker failed to boot", on which it stops instead of restarting the worker.
    print(exc, file=sys.stderr)
    sys.exit(3)
