"""The import rules the layout depends on, checked on the source so a shortcut can't creep in."""

import ast
from pathlib import Path

import pytest

from droplets.states import OPERATIONS
from droplets.strategies import STRATEGIES

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("waldur_do", "droplets", "tasks", "settings")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def source_files(*packages: str) -> list[Path]:
    return [path for package in packages for path in sorted((ROOT / package).rglob("*.py"))]


# The emulator ships with the product but stands alone: no ORM, no settings, no knowledge of our client.
FORBIDDEN_IN_EMULATOR = (
    "django",
    "rest_framework",
    "tasks",
    "waldur_do",
    "droplets.models",
    "droplets.backend",
)


def is_within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_only_the_backend_adapter_imports_python_digitalocean():
    importers = {
        path.relative_to(ROOT).as_posix()
        for path in source_files(*PACKAGES)
        if any(is_within(module, "digitalocean") for module in imported_modules(path))
    }
    assert importers == {"droplets/backend/digitalocean.py"}


@pytest.mark.parametrize("path", source_files("droplets/emulator"), ids=lambda p: p.name)
def test_the_emulator_stands_alone(path):
    offending = {
        module
        for module in imported_modules(path)
        if any(is_within(module, package) for package in FORBIDDEN_IN_EMULATOR)
    }
    assert not offending, f"{path.name} imports {offending}"


def test_every_operation_has_exactly_one_strategy():
    """Adding an operation is one row in states.py and one class in strategies.py: nothing else to wire."""
    assert set(STRATEGIES) == set(OPERATIONS)
    assert all(strategy.operation is OPERATIONS[name] for name, strategy in STRATEGIES.items())
