"""Benchmark: the cost and the effect of the schema-freshness middleware (chapters 20-21).

1. Overhead: median latency of an admin changelist request (Django test client, in a
   ``manage.py shell`` of a sandbox) without the middleware, with it checking on every
   request, and with a 5 s check interval; interleaved in the same run.
2. Propagation: gunicorn with 2 worker processes behind one socket. After a schema change is
   committed, how many responses still show the old schema, and how long until both workers
   have served the new one: the middleware versus the hook URL (one POST after the change).

3. Reliability (``--load``): gunicorn with 2 workers and the middleware, 200 requests (half
   admin changelist GETs, half anonymous submits), 4 at a time, while another process changes
   the schema 5 times (add, add, add, rename, remove); 3 runs. Counts 5xx answers and rows
   lost. On SQLite the same load runs a second time with Django's default SQLite settings
   (5 s timeout, deferred transactions) instead of the project's (30 s, ``IMMEDIATE``).

Run: .venv/bin/python benchmarks/dynamic_freshness.py [--requests N] [--load]
[--backends sqlite postgresql mysql]: every backend whose server is configured (KIT_POSTGRES_URL
or a postgres:// DATABASE_URL; KIT_MYSQL_URL), one after the other in the same run.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers.notebook.sandbox import Sandbox, mysql_available, postgres_available

MIDDLEWARE_LINE = '    "django.middleware.clickjacking.XFrameOptionsMiddleware",\n'
SETUP = """
from django.contrib.auth.models import User
from django.test import Client
from surveys.dynamic import response_model
from surveys.models import Question, Survey
s = Survey.objects.create(name="feedback")
for i, name in enumerate(["rating", "comment", "city"], 1):
    Question.objects.create(survey=s, name=name, field_type="text", position=i)
model = response_model("feedback")
model.objects.bulk_create([model(rating=str(i), comment="c" * 40, city="x") for i in range(20)])
c = Client(); c.force_login(User.objects.create_superuser("admin", "a@example.com", "pw"))
print(c.cookies["sessionid"].value)
"""
OVERHEAD = """
import statistics, time
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.test.utils import override_settings
from surveys import dynamic
dynamic.refresh()
user = User.objects.get()
M = "surveys.middleware.SurveySchemaMiddleware"
clients = {}
for label, middleware, interval, lock in [
        ("without middleware", [], 0, True), ("every request (default)", [M], 0, True),
        ("every request, no lock", [M], 0, False), ("5 s interval", [M], 5, True)]:
    with override_settings(MIDDLEWARE=[*settings.MIDDLEWARE, *middleware],
                           DYNAMIC_SCHEMA_CHECK_INTERVAL=interval, DYNAMIC_SCHEMA_LOCK=lock):
        c = Client(); c.force_login(user); c.get("/admin/surveys/response_feedback/")
        clients[label] = (c,)
times = {k: [] for k in clients}
labels = list(clients)
for i in range(N):  # each client's middleware chain was built under its settings
    for label in labels[i % 4:] + labels[:i % 4]:  # rotate the order: no position bias
        c = clients[label][0]
        t = time.perf_counter(); r = c.get("/admin/surveys/response_feedback/")
        times[label].append(time.perf_counter() - t)
        assert r.status_code == 200
base = times[labels[0]]
for label, values in times.items():
    ratios = [v / b for v, b in zip(values, base)]
    print(label, "|", statistics.median(values) * 1000, min(values) * 1000, statistics.median(ratios))
"""


def overhead(sb: Sandbox, n: int) -> list[tuple[str, float, float, float]]:
    out = sb.shell(OVERHEAD.replace("N)", f"{n})")).check().stdout
    rows = []
    for line in out.strip().splitlines()[-4:]:
        label, numbers = line.split(" | ")
        rows.append((label, *map(float, numbers.split())))
    return rows


def change(sb: Sandbox, name: str, position: int) -> float:
    sb.shell(f"""
        from surveys.models import Question, Survey
        Question.objects.create(survey=Survey.objects.get(), name="{name}", field_type="text",
                                position={position})
    """).check()
    return time.perf_counter()  # the change is committed when the command returns


def propagation(server, cookie: dict, sb: Sandbox, name: str, position: int, *, hook: bool, cap: int = 200):
    from helpers.dynamic.dynamic_admin import changelist_columns

    committed = change(sb, name, position)
    if hook:
        made = sb.shell("from surveys.dynamic import hook_token; print(hook_token())")
        token = made.stdout.split()[-1]
        server.post("/surveys/refresh/", headers={"X-Schema-Hook-Token": token})
    stale = fresh = 0
    fresh_pids: set[str] = set()
    seen: set[str] = set()
    done_at = None
    # Two requests at a time: while one worker is busy the other must answer, so the sample
    # covers both workers (one at a time, an idle worker may take every request).
    def look(_: int):
        return server.get("/admin/surveys/response_feedback/", headers=cookie)

    with ThreadPoolExecutor(max_workers=2) as pool:
        for _ in range(cap // 2):
            pages = pool.map(look, range(2))
            for page in pages:
                pid = page.headers.get("X-Worker-Pid") or page.headers.get("x-worker-pid") or "?"
                seen.add(pid)
                if page.status == 200 and name in changelist_columns(page.text):
                    fresh += 1
                    fresh_pids.add(pid)
                else:
                    stale += 1
            if len(fresh_pids) == 2 and done_at is None:
                done_at = time.perf_counter() - committed
            if done_at is not None and stale + fresh >= 40:
                break
    return stale, fresh, done_at


CHANGER = """
import time
from pathlib import Path
from surveys.models import Question, Survey
survey = Survey.objects.get()
Path("changer-ready").write_text("")
while not Path("go").exists():
    time.sleep(0.005)
names = ["{p}a", "{p}b", "{p}c"]
for position, name in enumerate(names, 10):
    Question.objects.create(survey=survey, name=name, field_type="text", position=position)
    time.sleep(0.1)
q = Question.objects.get(name=names[0]); q.name = "{p}r"; q.save()
time.sleep(0.1)
Question.objects.get(name=names[1]).delete()
print("changes done")
"""


def load_run(sb: Sandbox, cookie: dict, prefix: str, env: dict, total: int = 200, concurrency: int = 4):
    """One run: ``total`` requests, ``concurrency`` at a time, while another process makes 5 changes."""
    import subprocess
    import threading

    server = sb.serve(f"load {prefix}", app="surveys.wsgi:application", workers=2, env=env)
    changer = subprocess.Popen(  # a process of its own, with the servers' database settings
        [sys.executable, "manage.py", "shell", "-c", CHANGER.replace("{p}", prefix)],
        cwd=sb.root, env={**sb.env, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    while not (sb.root / "changer-ready").exists():
        if changer.poll() is not None:
            raise RuntimeError(changer.communicate())
        time.sleep(0.01)
    statuses: list[int] = []
    created: list[int] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def client() -> None:
        for i in counter:
            if i % 2:
                page = server.post("/surveys/feedback/submit/", {"comment": f"{prefix}{i}"})
                if page.status == 201:
                    with lock:
                        created.append(page.json()["id"])
            else:
                page = server.get("/admin/surveys/response_feedback/", headers=cookie)
            with lock:
                statuses.append(page.status)

    (sb.root / "go").write_text("")
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _, err = changer.communicate(timeout=120)
    (sb.root / "go").unlink()
    (sb.root / "changer-ready").unlink()
    server.stop()
    stored = {r[0] for r in sb.query("SELECT id FROM surveys_response_feedback").rows}
    return {
        "requests": len(statuses),
        "5xx": sum(s >= 500 for s in statuses),
        "other": sum(s not in (200, 201) and s < 500 for s in statuses),
        "lost": len(set(created) - stored),
        "changes": 5 if changer.returncode == 0 else f"failed: {err.strip().splitlines()[-1:]}",
    }


def reliability(sb: Sandbox, cookie: dict, runs: int = 3) -> None:
    middleware = '    "surveys.middleware.SurveySchemaMiddleware",\n'
    sb.edit("mysite/settings.py", MIDDLEWARE_LINE, MIDDLEWARE_LINE + middleware)
    configs = [("project settings", {})]
    if sb.backend == "sqlite":
        db = sb.root / "db.sqlite3"
        configs = [
            ("project settings (30 s, IMMEDIATE)", {"DATABASE_URL": f"sqlite:///{db}"}),
            ("Django defaults (5 s, deferred)", {"DATABASE_URL": f"sqlite:///{db}?timeout=5&transaction_mode=DEFERRED"}),
        ]
    print(f"\nreliability, {sb.backend}: gunicorn --workers 2, 200 requests 4 at a time, "
          "another process changing the schema 5 times")
    print(f"| {'configuration':<36} | run | requests | 5xx | other non-2xx | rows lost | changes |")
    print(f"|{'-' * 38}|-----|----------|-----|---------------|-----------|---------|")
    n = 0
    for label, env in configs:
        totals = [0, 0]
        for run in range(1, runs + 1):
            n += 1
            result = load_run(sb, cookie, f"x{n}", env)
            totals[0] += result["requests"]
            totals[1] += result["5xx"]
            print(f"| {label:<36} | {run:>3} | {result['requests']:>8} | {result['5xx']:>3} | "
                  f"{result['other']:>13} | {result['lost']:>9} | {result['changes']!s:>7} |")
        blank = f"{'':15}|{'':11}|{'':9}|"
        print(f"| {label + ': total':<36} |     | {totals[0]:>8} | {totals[1]:>3} |{blank}")


def measure(backend: str, requests: int, load: bool) -> None:
    """Every table of the benchmark on one backend."""
    with Sandbox(["surveys"], backend=backend) as sb:
        sb.run("migrate", "--verbosity", "0").check()
        cookie = {"Cookie": "sessionid=" + sb.shell(SETUP).check().stdout.split()[-1]}
        if load:
            reliability(sb, cookie)
            return
        print(f"\nbackend: {sb.backend}; admin changelist of 20 rows, {requests} requests each\n")
        rows = overhead(sb, requests)
        print(f"{'configuration':<28} {'median ms':>10} {'min ms':>8} {'paired ratio vs without':>24}")
        for label, median, low, ratio in rows:
            print(f"{label:<28} {median:>10.2f} {low:>8.2f} {ratio:>23.3f}x")
        print("(paired ratio: median over rounds of this request's time / the same round's time")
        print(" without the middleware; the four are interleaved, order rotated each round)")

        # The hook alternative: no middleware, 2 workers behind one socket.
        server = sb.serve("hook", app="surveys.wsgi:application", workers=2)
        hook = propagation(server, cookie, sb, "email", 4, hook=True)
        server.stop()
        sb.edit("mysite/settings.py", MIDDLEWARE_LINE,
                MIDDLEWARE_LINE + '    "surveys.middleware.SurveySchemaMiddleware",\n')
        server = sb.serve("stamp", app="surveys.wsgi:application", workers=2)
        stamp = propagation(server, cookie, sb, "phone", 5, hook=False)
        server.stop()
        print(f"\nafter a committed change, {sb.backend}, gunicorn --workers 2 (40 requests at least):")
        print(f"{'fix':<22} {'stale responses':>16} {'fresh':>6} {'both workers fresh after':>26}")
        for label, (stale, fresh, done) in [("hook URL (1 POST)", hook), ("version stamp", stamp)]:
            when = f"{done * 1000:.0f} ms" if done is not None else "never (in the sample)"
            print(f"{label:<22} {stale:>16} {fresh:>6} {when:>26}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=150)
    parser.add_argument("--load", action="store_true", help="only the reliability runs (3)")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql", "mysql"],
                        choices=["sqlite", "postgresql", "mysql"])
    args = parser.parse_args()
    available = {"postgresql": postgres_available, "mysql": mysql_available}
    backends = [b for b in args.backends if b not in available or available[b]()]
    for backend in backends:
        measure(backend, args.requests, args.load)
    for backend in sorted(set(args.backends) - set(backends)):
        print(f"({backend}: skipped, no server: set KIT_POSTGRES_URL or DATABASE_URL, or KIT_MYSQL_URL)")


if __name__ == "__main__":
    main()
