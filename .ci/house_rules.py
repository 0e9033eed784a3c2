"""House rules a machine can check (run by ``make lint``), outside migrations and tests:

- no module over 700 lines;
- no function over 80 lines, unless the line with its ``def`` says why (``# long: …``);
- no first-party import inside a function body, unless the import's line says why
  (``# lazy: …``; the upload task and its service are the one such pair);
- type checking only ratchets: ``mypy`` may skip (``ignore_errors``) only modules that
  carried errors when it began, listed below; the list in ``pyproject.toml`` only shrinks.

Exits non-zero listing every breach with its file and line.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "api", "core", "systems", "oversight", "delegation")
MAX_MODULE_LINES = 700
MAX_FUNCTION_LINES = 80

# Modules mypy skipped when type checking began (December 2026). Remove a module here and
# in pyproject.toml once it checks clean; never add one.
MYPY_IGNORED_AT_START: frozenset[str] = frozenset(
    {
        "delegation.api",
        "delegation.presenters",
        "delegation.services.change_requests",
        "delegation.services.conditions",
        "delegation.views",
        "oversight.autonomy.api",
        "oversight.autonomy.response",
        "oversight.autonomy.services",
        "oversight.autonomy.views",
        "oversight.bulk",
        "oversight.dashboards.pages",
        "oversight.dashboards.selectors",
        "oversight.demo",
        "oversight.exports",
        "oversight.management.commands.export_assessments",
        "oversight.management.commands.export_league_table",
        "oversight.models",
        "oversight.uploads.api",
        "oversight.uploads.checks",
        "oversight.uploads.coded",
        "oversight.uploads.presenters",
        "oversight.uploads.readers",
        "oversight.uploads.selectors",
        "oversight.uploads.storage",
        "oversight.uploads.views",
        "systems.management.commands.load_demo_users",
        "systems.models",
        "systems.selectors",
        "systems.services",
    }
)


def _first_party(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.ImportFrom):
        if node.level:
            return True
        names = [node.module or ""]
    else:
        names = [alias.name for alias in node.names]
    return any(name.split(".")[0] in PACKAGES for name in names)


def breaches(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    where = path.relative_to(ROOT)
    found = []
    if len(lines) > MAX_MODULE_LINES:
        found.append(f"{where}: {len(lines)} lines (at most {MAX_MODULE_LINES})")
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        length = node.end_lineno - node.lineno + 1
        if length > MAX_FUNCTION_LINES and "# long:" not in lines[node.lineno - 1]:
            found.append(
                f"{where}:{node.lineno}: {node.name} is {length} lines "
                f"(at most {MAX_FUNCTION_LINES}, or say why with '# long: …')"
            )
        for inner in ast.walk(node):
            if (
                isinstance(inner, (ast.Import, ast.ImportFrom))
                and _first_party(inner)
                and "# lazy:" not in lines[inner.lineno - 1]
            ):
                found.append(
                    f"{where}:{inner.lineno}: import inside {node.name}() "
                    "(import at the top, or say why with '# lazy: …')"
                )
    return found


def mypy_ratchet() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    ignored = {
        module
        for override in config["tool"]["mypy"].get("overrides", [])
        if override.get("ignore_errors")
        for module in (
            [override["module"]] if isinstance(override["module"], str) else override["module"]
        )
    }
    return [
        f"pyproject.toml: mypy may not skip {module} (new code is type-checked; fix its errors)"
        for module in sorted(ignored - MYPY_IGNORED_AT_START)
    ]


def main() -> int:
    found = mypy_ratchet()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                found += breaches(path)
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} breach(es) of the house rules")
        return 1
    print("House rules kept: module and function sizes, no hidden imports")
    return 0


if __name__ == "__main__":
    sys.exit(main())
