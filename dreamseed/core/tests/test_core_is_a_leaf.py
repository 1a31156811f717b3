"""`core` is the foundation the apps stand on: nothing in it (tests aside) imports, or names by
dotted path, an app built on it. The home page lives in classes, the list of periodic jobs in
settings."""

import ast
from pathlib import Path

import dreamseed.core

CORE = Path(dreamseed.core.__file__).parent
APPS_ON_TOP = (
    "accounts",
    "api",
    "assessments",
    "billing",
    "classes",
    "itembank",
    "lti",
    "outbox",
    "privacy",
    "reports",
)


def _uses_an_app(name: str) -> bool:
    return any(
        name == f"dreamseed.{app}" or name.startswith(f"dreamseed.{app}.") for app in APPS_ON_TOP
    )


def _names_used(tree: ast.AST):
    """(line, module) for every import, at any depth, and every string that is a dotted path."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def _core_modules():
    return [path for path in CORE.rglob("*.py") if "tests" not in path.relative_to(CORE).parts]


def test_core_uses_no_app_built_on_it():
    found = [
        f"{path.relative_to(CORE.parent)}:{line}: {name}"
        for path in _core_modules()
        for line, name in _names_used(ast.parse(path.read_text(), filename=str(path)))
        if _uses_an_app(name)
    ]
    assert found == []


def test_the_scan_sees_imports_inside_functions_and_dotted_paths_in_strings():
    source = (
        "def view():\n"
        "    from dreamseed.assessments.views import home\n"
        "import dreamseed.lti.grades\n"
        "JOB = 'dreamseed.reports.services.report_files_cleanup'\n"
        "from dreamseed import classes\n"
        "from dreamseed.core.cache import pool_cache\n"
    )
    used = {name for _line, name in _names_used(ast.parse(source)) if _uses_an_app(name)}
    assert used == {
        "dreamseed.lti.grades",
        "dreamseed.assessments.views",
        "dreamseed.assessments.views.home",
        "dreamseed.reports.services.report_files_cleanup",
        "dreamseed.classes",
    }
    assert len(_core_modules()) > 10  # the scan reads core itself, not an empty folder
