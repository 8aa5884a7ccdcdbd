"""Production mode's moving parts without worker processes: the sweep, the scheduler, gunicorn."""
from __future__ import annotations

import os
import runpy

import pytest

from app import create_app
from app.jobs import RQQueue
from app.jobs.schedule import Scheduler
from app.jobs.tasks import sweep_inbox
from tests.support import PROJECT_ROOT, payload, send_webhook


def test_deliveries_ring_one_wake_up_not_one_job_each_and_the_sweep_rings_again_once_it_is_lost(client, rq_t):
    for i in range(3):
        send_webhook(client, "customers/create", dict(payload("customers/create"), id=500 + i))
    assert [job.args for job in rq_t.queue.rq.jobs] == [("process_inbox",)]
    assert sweep_inbox(rq_t) == 1 and rq_t.queue.waiting() == 1  # still waiting: not rung twice
    rq_t.queue.rq.empty()  # the wake-up is lost with Redis
    rq_t.queue.redis.flushdb()
    assert sweep_inbox(rq_t) == 1
    assert [job.args for job in rq_t.queue.rq.jobs] == [("process_inbox",)]


def test_scheduler_enqueues_the_inbox_sweep_and_the_event_dispatch_for_the_workers(rq_t):
    assert Scheduler(rq_t.queue).tick(rq_t.clock()) == ["sweep_inbox", "dispatch_member_events"]
    assert [job.args for job in rq_t.queue.rq.jobs] == [("sweep_inbox",), ("dispatch_member_events",)]


def test_web_processes_start_no_job_thread_when_jobs_go_to_redis(app_settings, monkeypatch):
    monkeypatch.setenv("REDIS_URL", app_settings["REDIS_URL"])
    monkeypatch.setenv("INPROCESS_WORKER", "1")  # wsgi.py's default
    config = runpy.run_path(str(PROJECT_ROOT / "gunicorn.conf.py"))
    assert config["bind"] == "127.0.0.1:8000" and config["workers"] >= 1
    assert os.environ["INPROCESS_WORKER"] == "0"
    app = create_app({**app_settings, "INPROCESS_WORKER": os.environ["INPROCESS_WORKER"] == "1"})
    assert isinstance(app.extensions["tessera"].queue, RQQueue)


def test_scheduler_command_explains_it_needs_redis(app_settings):
    app = create_app({**app_settings, "REDIS_URL": ""})
    result = app.test_cli_runner().invoke(args=["scheduler"])
    assert result.exit_code != 0 and "REDIS_URL is not set" in result.output


@pytest.mark.parametrize("name", ["web", "worker", "scheduler"])
def test_procfile_names_the_three_processes(name):
    lines = (PROJECT_ROOT / "Procfile").read_text().splitlines()
    assert any(line.startswith(f"{name}: ") for line in lines)
