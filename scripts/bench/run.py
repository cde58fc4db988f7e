"""`make bench`: seed a throwaway PostgreSQL at 1% and at 100% of --scale, run the app under gunicorn -w 2
with the production config next to a bare Flask baseline, sign in with password + TOTP, load every main
page and print a table.

    python -m scripts.bench.run [--scale 1.0] [--duration 10] [--connections 16] [--keep]

Environment: BENCH_SCALE, BENCH_DURATION, BENCH_CONNECTIONS give the defaults. The PostgreSQL server
(initdb under /tmp, a free port, fsync off: a throwaway) and both gunicorns are stopped at the end.
"""
from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECRET = secrets.token_hex(32)
# The production config reads the environment when config.py is imported: set it first.
os.environ.update({"APP_ENV": "production", "SECRET_KEY": SECRET, "BASE_URL": "http://127.0.0.1"})
os.environ.pop("REDIS_URL", None)
os.environ.pop("FLASK_DEBUG", None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_pg(*args: str, **kwargs) -> subprocess.CompletedProcess:
    pgbin = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: float(p.parent.name))[-1]
    cmd = [str(pgbin / args[0]), *args[1:]]
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs)


class Postgres:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="netwerkzorg-bench-", dir="/tmp"))
        self.dir.chmod(0o755)
        self.data = self.dir / "pg"
        self.data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres")
        self.port = free_port()

    def start(self) -> None:
        run_pg("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        opts = (f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off "
                "-c synchronous_commit=off -c timezone=UTC -c max_connections=100 -c shared_buffers=512MB "
                "-c max_wal_size=4GB")
        run_pg("pg_ctl", "-D", str(self.data), "-w", "-l", str(self.data / "log"), "-o", opts, "start")

    def create(self, name: str) -> str:
        run_pg("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-qc", f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            run_pg("pg_ctl", "-D", str(self.data), "-m", "fast", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


class Gunicorn:
    def __init__(self, target: str, env: dict):
        self.port = free_port()
        self.log = open(Path(tempfile.gettempdir()) / f"bench-gunicorn-{self.port}.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{self.port}", "--timeout", "120",
             target], cwd=ROOT, env={**os.environ, **env}, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"gunicorn {target} did not start; see {self.log.name}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


class Browser:
    """Signs in through the real forms and keeps the cookies (sent as a header: the production session
    cookie is Secure, which a browser would only send over HTTPS)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = self.headers()
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        conn.close()
        return response.status, response.headers.get("Location", ""), text

    def headers(self) -> dict:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}

    def sign_in(self, email: str, password: str, totp_secret: str) -> None:
        import pyotp
        _, _, page = self.request("GET", "/login")
        status, location, _ = self.request("POST", "/login", {"csrf_token": _csrf(page), "email": email,
                                                              "password": password})
        if status != 302 or "mfa" not in location:
            raise RuntimeError(f"password sign-in of {email} failed ({status} {location})")
        _, _, page = self.request("GET", "/login/mfa")
        status, _, _ = self.request("POST", "/login/mfa", {"csrf_token": _csrf(page),
                                                           "code": pyotp.TOTP(totp_secret).now()})
        if status != 302:
            raise RuntimeError(f"TOTP sign-in of {email} failed ({status})")


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    if not match:
        raise RuntimeError("no CSRF token on the form")
    return match.group(1)


def count_statements(url: str, page_list, browsers: dict) -> dict[str, int]:
    """One in-process request per page with the production config and the harvested cookie, counting the
    SQL statements with a before_cursor_execute listener (nothing of this exists in the running app)."""
    from sqlalchemy import event

    from app import create_app
    from app.extensions import db
    from config import ProductionConfig

    app = create_app(type("BenchProductionConfig", (ProductionConfig,), {"SQLALCHEMY_DATABASE_URI": url}))
    counts = {}
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        for name, who, path in page_list:
            client = app.test_client()
            for cookie, value in browsers[who].cookies.items():
                client.set_cookie(cookie, value, domain="127.0.0.1")
            statements.clear()
            response = client.get(path, base_url="http://127.0.0.1")
            if response.status_code != 200:
                raise RuntimeError(f"{name} answered {response.status_code} {response.location} in process")
            counts[name] = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
        with app.app_context():
            db.engine.dispose()
    return counts


def measure_database(label: str, url: str, result, args, *, load: bool) -> dict:
    from scripts.bench import load as loadgen
    from scripts.bench.pages import pages

    upload = tempfile.mkdtemp(prefix="bench-uploads-")
    app_server = Gunicorn("wsgi:app", {"DATABASE_URL": url, "UPLOAD_DIR": upload})
    base_server = Gunicorn("scripts.bench.baseline:create_app()", {"BENCH_DATABASE_URL": url})
    out = {"pages": {}}
    try:
        browsers = {"anonymous": Browser(app_server.port), "coordinator": Browser(app_server.port),
                    "gp": Browser(app_server.port)}
        browsers["coordinator"].sign_in(result.coordinator_email, result.password, result.coordinator_totp)
        browsers["gp"].sign_in(result.gp_email, result.password, result.gp_totp)
        page_list = pages(result)
        for _, who, path in page_list:  # warm both workers' caches
            for _ in range(4):
                loadgen.get(app_server.port, path, browsers[who].headers())
        out["statements"] = count_statements(url, page_list, browsers)
        out["baseline_serial"] = loadgen.serial(base_server.port, "/baseline", count=args.serial)
        for name, who, path in page_list:
            out["pages"][name] = {"serial": loadgen.serial(app_server.port, path, headers=browsers[who].headers(),
                                                           count=args.serial)}
            print(f"  [{label}] {name}: {out['pages'][name]['serial']:.1f} ms unloaded", flush=True)
        if load:
            out["baseline"] = loadgen.run(base_server.port, "/baseline", connections=args.connections,
                                          duration=args.duration)
            print(f"  [{label}] baseline: {out['baseline'].rps:.1f} req/s", flush=True)
            for name, who, path in page_list:
                res = loadgen.run(app_server.port, path, headers=browsers[who].headers(),
                                  connections=args.connections, duration=args.duration)
                out["pages"][name]["load"] = res
                print(f"  [{label}] {name}: {res.rps:.1f} req/s, {res.errors} errors", flush=True)
    finally:
        app_server.stop()
        base_server.stop()
        shutil.rmtree(upload, ignore_errors=True)
    return out


def table(small: dict, main: dict, args) -> str:
    base = main["baseline"]
    head = (f"| page | req/s | p50 ms | p99 ms | vs baseline | SQL stmts ({args.small_scale:g} / {args.scale:g}) "
            f"| server ms at {args.small_scale:g} | server ms at {args.scale:g} | errors |")
    lines = [head, "|" + "---|" * 9,
             f"| baseline: bare Flask, 25 rows | {base.rps:.1f} | {base.median:.1f} | {base.percentile(99):.1f} | 1.00 "
             f"| 1 / 1 | {small['baseline_serial']:.1f} | {main['baseline_serial']:.1f} | {base.errors} |"]
    for name, row in main["pages"].items():
        res = row["load"]
        lines.append(
            f"| {name} | {res.rps:.1f} | {res.median:.1f} | {res.percentile(99):.1f} | {res.rps / base.rps:.2f} "
            f"| {small['statements'][name]} / {main['statements'][name]} | {small['pages'][name]['serial']:.1f} "
            f"| {row['serial']:.1f} | {res.errors} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE") or 1.0))
    parser.add_argument("--duration", type=float, default=float(os.environ.get("BENCH_DURATION") or 10))
    parser.add_argument("--connections", type=int, default=int(os.environ.get("BENCH_CONNECTIONS") or 16))
    parser.add_argument("--serial", type=int, default=20, help="unloaded requests per page for the server time")
    args = parser.parse_args(argv)
    args.small_scale = args.scale * 0.01
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import create_engine

    from scripts.bench.seed import seed

    pg = Postgres()
    try:
        pg.start()
        urls = {}
        for label in ("small", "main"):
            urls[label] = pg.create(f"bench_{label}")
            subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], cwd=ROOT, check=True,
                           env={**os.environ, "FLASK_APP": "wsgi.py", "DATABASE_URL": urls[label]},
                           capture_output=True)
        results, seconds = {}, {}
        for label, scale in (("small", args.small_scale), ("main", args.scale)):
            engine = create_engine(urls[label])
            started = time.perf_counter()
            results[label] = seed(engine, scale)
            seconds[label] = time.perf_counter() - started
            engine.dispose()
            print(f"seeded {label} (scale {scale:g}) in {seconds[label]:.1f} s", flush=True)
        small = measure_database("small", urls["small"], results["small"], args, load=False)
        main_out = measure_database("main", urls["main"], results["main"], args, load=True)
        print()
        print(f"Seeding scale {args.scale:g}: {seconds['main']:.0f} s; {args.connections} connections, "
              f"{args.duration:g} s per page; gunicorn -w 2 (sync), production config; "
              f"{os.cpu_count()} CPUs, load average before: {os.getloadavg()[0]:.1f}")
        print(table(small, main_out, args))
    finally:
        pg.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
