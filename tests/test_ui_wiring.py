"""Views are wired in the composition root, through declared signals and methods: no module
under ``app/rigconsole/ui`` looks a signal, a menu or a collaborator up by name. Read from the
source (ast), beside ``tests/test_boundaries.py``.

Checks, on every module under ``ui/``:

1. ``getattr(x, ...)`` / ``hasattr(x, ...)`` where ``x`` is not ``self``/``cls`` (a dunder
   literal such as ``"__name__"`` is introspection, not wiring, and allowed);
2. ``<x>._name`` where ``x`` is not ``self``/``cls`` (``self.a._b`` too: a collaborator's
   private name), unless a class of the same module defines ``_name`` (a module's own private
   helpers may share its privates);
3. menus or actions found by searching the widget tree: ``findChild(QMenu, ...)``,
   ``findChildren(QAction)``... (menus are declared where they are built);
4. a class reading ``self._name`` that neither it nor a class it derives from (under ``ui/``)
   defines: a mixin reading its host's private names.

:data:`KNOWN` lists what other branches are moving out of ``ui/`` right now; it may only shrink.
"""

from __future__ import annotations

import ast
from pathlib import Path

UI = Path(__file__).resolve().parents[1] / "app" / "rigconsole" / "ui"

#: (file relative to ui/, expression): lookups left for another branch to remove (none now)
KNOWN: set[tuple[str, str]] = set()

_TREE_SEARCH = {"findChild", "findChildren"}
_MENU_TYPES = {"QMenu", "QAction", "QMenuBar"}


def _is_self(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id in ("self", "cls")


def _class_defines(cls: ast.ClassDef) -> set[str]:
    names: set[str] = set()
    for stmt in cls.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(stmt.name)
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            names.add(stmt.target.id)
        elif isinstance(stmt, ast.Assign):
            names.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
    for node in ast.walk(cls):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and _is_self(node.value):
            names.add(node.attr)
        elif isinstance(node, ast.Tuple) and isinstance(node.ctx, ast.Store):
            names.update(e.attr for e in node.elts if isinstance(e, ast.Attribute) and _is_self(e.value))
    return names


def wiring_problems(ui_dir: Path) -> list[tuple[str, int, str, str]]:
    """``(file, line, kind, expression)`` for each lookup by name under ``ui_dir``."""
    modules = {
        p.relative_to(ui_dir).as_posix(): ast.parse(p.read_text(encoding="utf-8"), filename=str(p))
        for p in sorted(ui_dir.rglob("*.py"))
    }
    classes: dict[str, ast.ClassDef] = {}
    for tree in modules.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                classes.setdefault(node.name, node)

    def defined(cls: ast.ClassDef, seen: frozenset = frozenset()) -> set[str]:
        names = _class_defines(cls)
        for base in cls.bases:
            if isinstance(base, ast.Name) and base.id in classes and base.id not in seen:
                names |= defined(classes[base.id], seen | {cls.name})
        return names

    out: list[tuple[str, int, str, str]] = []
    for rel, tree in modules.items():
        own_privates = set().union(*(_class_defines(c) for c in ast.walk(tree) if isinstance(c, ast.ClassDef)))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr")
                and node.args
                and not _is_self(node.args[0])
            ):
                name = node.args[1] if len(node.args) > 1 else None
                if (
                    isinstance(name, ast.Constant)
                    and isinstance(name.value, str)
                    and name.value.startswith("__")
                    and name.value.endswith("__")
                ):
                    continue
                out.append((rel, node.lineno, "getattr", ast.unparse(node)))
            elif (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not _is_self(node.value)
                and node.attr not in own_privates
            ):
                out.append((rel, node.lineno, "private", ast.unparse(node)))
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _TREE_SEARCH
                and node.args
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id in _MENU_TYPES
            ):
                out.append((rel, node.lineno, "menu lookup", ast.unparse(node)))
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            own = defined(cls)
            for node in ast.walk(cls):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.ctx, ast.Load)
                    and _is_self(node.value)
                    and node.attr.startswith("_")
                    and not node.attr.startswith("__")
                    and node.attr not in own
                ):
                    out.append((rel, node.lineno, "host private", f"{cls.name}: {ast.unparse(node)}"))
    return out


def test_no_view_looks_another_up_by_name():
    found = [p for p in wiring_problems(UI) if (p[0], p[3]) not in KNOWN]
    assert not found, "lookups by name under ui/ (wire them in ui/app.py instead):\n" + "\n".join(
        f"  ui/{f}:{line}: {kind}: {expr}" for f, line, kind, expr in found
    )


def test_known_exceptions_are_still_there():
    """KNOWN may only shrink: an entry that no longer occurs must be removed."""
    found = {(p[0], p[3]) for p in wiring_problems(UI)}
    assert KNOWN <= found, f"remove from KNOWN: {sorted(KNOWN - found)}"


def test_the_check_catches_what_it_forbids(tmp_path):
    """The four kinds, as the console had them before (data tools, mixin, menus by title)."""
    (tmp_path / "tools.py").write_text(
        "class DataTools:\n"
        "    def __init__(self, window):\n"
        "        self.window = window\n"
        "        changed = getattr(window, 'dataLogChanged', None)\n"
        "        budget = getattr(getattr(self.window, 'session', None), 'frame_budget', None)\n"
        "        for menu in window.menuBar().findChildren(QMenu):\n"
        "            pass\n"
        "        window._manager._emit()\n"
        "        name = getattr(builtins.__import__, '__name__', '?')\n"
    )
    (tmp_path / "actions.py").write_text(
        "class FileMenuActions:\n"
        "    def remove(self):\n"
        "        return self._key\n"
        "    def own(self):\n"
        "        self._mine = 1\n"
        "        return self._mine\n"
    )
    kinds = sorted((f, k) for f, _, k, _ in wiring_problems(tmp_path))
    assert kinds == [
        ("actions.py", "host private"),
        ("tools.py", "getattr"),
        ("tools.py", "getattr"),
        ("tools.py", "getattr"),
        ("tools.py", "menu lookup"),
        ("tools.py", "private"),
        ("tools.py", "private"),
    ]
