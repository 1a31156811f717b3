"""The engine stays pure: importing it pulls in neither Django nor Celery."""

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]

CHECK = """
import importlib, pkgutil, sys
import dreamseed.cat
names = [m.name for m in pkgutil.walk_packages(dreamseed.cat.__path__, "dreamseed.cat.")
         if ".tests" not in m.name]
for name in names:
    importlib.import_module(name)
leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("django", "celery"))
print(len(names), leaked)
"""


def test_importing_the_engine_and_all_its_modules_leaves_django_and_celery_out():
    done = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    count, leaked = done.stdout.strip().split(" ", 1)
    assert int(count) >= 10  # every engine module was imported
    assert leaked == "[]"
