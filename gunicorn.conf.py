"""gunicorn settings for `gunicorn wsgi:app` (read from this file automatically when gunicorn
starts in the project directory; see docs/deployment.md).

Environment: BIND (default 127.0.0.1:8000; put a TLS-terminating proxy in front),
WEB_CONCURRENCY (worker processes, default 2 per core), WEB_THREADS (threads per worker,
default 4), WEB_WORKER_CLASS (default gthread), WEB_TIMEOUT (seconds, default 30).
"""
import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * multiprocessing.cpu_count())
# Threads let a worker accept the next request while one waits on the database or Redis;
# the request work itself is short, so a few are enough.
threads = int(os.environ.get("WEB_THREADS") or 4)
worker_class = os.environ.get("WEB_WORKER_CLASS", "gthread")
timeout = int(os.environ.get("WEB_TIMEOUT") or 30)
keepalive = 5
# On a restart (a release), requests in flight get this long to finish.
graceful_timeout = 20
accesslog = os.environ.get("WEB_ACCESS_LOG") or None
errorlog = "-"
# Query strings carry session tokens, signatures and OAuth codes: never write them to the log.
logger_class = "app.request_logs.RedactingGunicornLogger"

# With Redis, jobs run in `flask --app wsgi worker` processes; the web workers must not also
# start the in-process worker thread (wsgi.py starts it unless INPROCESS_WORKER says no).
if os.environ.get("REDIS_URL"):
    os.environ["INPROCESS_WORKER"] = "0"
