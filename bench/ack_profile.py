"""Where a webhook acknowledgement's time goes under load: cProfile of every request in every
gunicorn worker (a server hook wraps the worker's WSGI app; each worker writes its stats when it
exits), with webhook_ack.py's 50 senders, then the sum over the workers.

    .venv/bin/python bench/ack_profile.py [--mode production|embedded] [--seconds 10] [--quick]
"""
from __future__ import annotations

import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path

import common
import webhook_ack

PROFILE_HOOKS = '''
import cProfile as _cProfile
import pstats as _pstats

_profiles = []
_ready_post_worker_init = post_worker_init


def post_worker_init(worker):
    app = worker.wsgi

    def profiled(environ, start_response):
        profile = _cProfile.Profile()  # one per request: a profile follows one thread
        profile.enable()
        try:
            return list(app(environ, start_response))
        finally:
            profile.disable()
            _profiles.append(profile)

    worker.wsgi = profiled
    _ready_post_worker_init(worker)


def worker_exit(server, worker):
    if _profiles:
        stats = _pstats.Stats(_profiles[0])
        for profile in _profiles[1:]:
            stats.add(profile)
        stats.dump_stats({out!r} + "/worker-%d.prof" % _os.getpid())
        open({out!r} + "/worker-%d.count" % _os.getpid(), "w").write(str(len(_profiles)))
'''


def main() -> None:
    import pstats
    args = common.arguments(__doc__.splitlines()[0], seconds=(10, "seconds of load"),
                            mode=("production", "production or embedded"))
    seconds = 3 if args.quick else args.seconds
    directory = Path(tempfile.mkdtemp(prefix="tessera-bench-ack-profile-"))
    try:
        with ExitStack() as stack:
            url = stack.enter_context(common.database("postgresql" if args.mode == "production" else "sqlite"))
            redis_url = stack.enter_context(common.redis_server()) if args.mode == "production" else ""
            config = common.settings(url, redis_url)
            app, t = common.build_app(config)
            common.install_shop(t)
            t.db.engine.dispose()
            env = common.environment(config)
            env["INPROCESS_WORKER"] = "0" if args.mode == "production" else "1"
            with common.gunicorn("wsgi:app", env, extra_config=PROFILE_HOOKS.format(out=str(directory))) as port:
                figures = webhook_ack.run_wrk(port, webhook_ack.wrk_script(directory, f"profile-{args.mode}"), seconds)
        files = sorted(str(f) for f in directory.glob("worker-*.prof"))
        if not files:
            raise SystemExit("no worker wrote a profile")
        profiled = sum(int(Path(f[:-len(".prof")] + ".count").read_text()) for f in files)
        print(f"{args.mode}, {webhook_ack.CONNECTIONS} senders for {seconds} s under the profiler: {figures}")
        print(f"requests profiled in {len(files)} workers: {profiled}")
        stats = pstats.Stats(*files)
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(15)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
