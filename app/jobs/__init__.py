"""Background execution with one code path and two engines.

The modules, in the order they depend on each other (none imports one above it, nor this package):
  schedule.py  what runs how often (PERIODIC, Scheduler)
  queues.py    InProcessQueue and RQQueue: they carry task names; the runtime runs the tasks
  tasks.py     the task registry: the one place that unpacks the runtime for the services
  rq_entry.py  what an RQ job calls, with the runtime `flask worker` handed over
  workers.py   the RQ worker loop of `flask --app wsgi worker`

- InProcessQueue (default): a thread in the web process runs tasks and, every few seconds,
  sweeps the inbox for due or abandoned deliveries and runs the periodic schedule. Without
  `start()` (tests, CLI) tasks wait until `drain()` runs them in the calling thread.
- RQQueue (REDIS_URL set): tasks go to Redis and run in `flask --app wsgi worker` processes;
  `flask --app wsgi scheduler` enqueues the inbox sweep and the periodic tasks.

Webhook deliveries are not jobs: the inbox table is their queue. A committed group of deliveries
only rings a wake-up (`enqueue_once("process_inbox")`: at most one waiting at a time), and the
processor claims batches of due rows itself. A wake-up lost with Redis costs a few seconds, until
the periodic sweep rings again; while Redis is down, RQ workers poll the inbox instead.

Either way a task is `tasks.TASKS[name](tessera, *args)` (run by `Tessera.run_task`), and every task is idempotent: the
inbox lease and the ledger's idempotency keys make running one twice harmless.
"""
from app.jobs.queues import RETRY_DELAYS, InProcessQueue, Queue, RQQueue, worker_id
from app.jobs.workers import run_rq_worker

__all__ = ["RETRY_DELAYS", "InProcessQueue", "Queue", "RQQueue", "run_rq_worker", "worker_id"]
