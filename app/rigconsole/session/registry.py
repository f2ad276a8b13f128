"""The experiment registry: which experiments a Session knows, found, loaded and kept fresh.

Experiments are files in a root folder: plain PsychoPy scripts (``.py``,
defining at least ``setupData`` and ``run``, see the experiment script
interface) and Builder files (``.psyexp``, compiled on load into a cache
folder). Each is registered under a key, by default its path relative to
the root with ``/`` separators (``"gonogo/gonogo.py"``, PsychoPy's
``Session.addExperiment`` convention). A file that does not load is kept as a
broken entry with a one-line reason; a file edited on disk is loaded again
the next time it is asked for (:meth:`ExperimentRegistry.entry`).
"""

from __future__ import annotations

import ast
import gc
import logging
import os
import shutil
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

from .loader import EXPERIMENT_SUFFIXES, ExperimentFile, ExperimentLoadError, file_signature, load_experiment

__all__ = ["ExperimentRegistry", "ExperimentModules", "UnknownExperimentError", "SKIP_DIRS", "script_precheck"]

log = logging.getLogger("rigconsole.session")

#: folders never searched for experiments (PsychoPy's data folders, caches)
SKIP_DIRS = {"data", "__pycache__", "node_modules"}
#: how deep under the root experiments are looked for (root itself is depth 0)
MAX_DEPTH = 4


class UnknownExperimentError(KeyError):
    """No experiment is registered under that key."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it one plain line
        return str(self.args[0]) if self.args else "unknown experiment"


def _parse(source: str, filename: str) -> ast.Module:
    """``ast.parse``, again (up to 3 times, the garbage collector paused) on CPython 3.11's
    spurious ``SystemError: AST constructor recursion depth mismatch`` (python/cpython#106905,
    fixed in 3.11.8 and 3.12.1; seen here in long test sessions with several threads)."""
    for attempt in range(3):
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return ast.parse(source, filename=filename)
        except SystemError as err:
            if "recursion depth mismatch" not in str(err) or attempt == 2:
                raise
            logging.getLogger(__name__).warning("parsing %s again after CPython's %s", filename, err)
        finally:
            if was_enabled:
                gc.enable()
    raise AssertionError("unreachable")


def script_precheck(path: Path) -> str | None:
    """Check a ``.py`` file without running it: a syntax error or missing functions.

    Returns:
        ``None`` when it looks like an experiment script, else the one-line reason.
    """
    try:
        tree = _parse(path.read_text(encoding="utf-8"), str(path))
    except SyntaxError as err:
        return f"syntax error (line {err.lineno}): {err.msg}"
    except (OSError, UnicodeDecodeError) as err:
        return f"cannot read the file: {err}"
    names = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    missing = [fn for fn in ("setupData", "run") if fn not in names]
    if missing:
        return f"not an experiment script: missing {', '.join(f + '()' for f in missing)}"
    return None


class ExperimentRegistry:
    """The experiments of one root folder, by key.

    Args:
        root: the experiment root folder (absolute).
        cache_dir: where compiled Builder scripts go.
        on_changed: called (no arguments) whenever the set of entries or one of
            them changed (added, removed, reloaded, rescanned).

    Attributes:
        files: ``{key: ExperimentFile}``, broken entries included.
        objects: ``{key: psychopy.experiment.Experiment | None}`` (PsychoPy's
            ``Session.experimentObjects``; parsed on demand for Builder files).
    """

    def __init__(self, root: Path, cache_dir: Path, on_changed: Callable[[], None]):
        self._root = Path(root)
        self.cache_dir = Path(cache_dir)
        self._on_changed = on_changed
        self.files: dict[str, ExperimentFile] = {}
        self.objects: dict[str, Any] = {}

    @property
    def root(self) -> Path:
        return self._root

    def key_for(self, path: str | os.PathLike) -> str:
        """The default key of a file: relative to root with ``/`` separators, else its
        absolute path (a relative ``path`` is taken relative to root)."""
        file = Path(path)
        if not file.is_absolute():
            file = self._root / file
        file = file.absolute()
        try:
            return file.relative_to(self._root).as_posix()
        except ValueError:
            return str(file)

    def load(self, file: Path, key: str) -> ExperimentFile:
        """Load one file into an entry (broken, with its reason, when it does not load)."""
        if file.suffix == ".py" and file.is_file():
            reason = script_precheck(file)
            if reason is not None:
                entry = ExperimentFile(key=key, path=file, error=reason)
                try:
                    entry.signature = file_signature(file)
                except OSError:
                    pass
                log.warning("experiment %s is broken: %s", key, reason)
                return entry
        elif file.suffix not in EXPERIMENT_SUFFIXES:
            return ExperimentFile(
                key=key, path=file, error=f"not an experiment file (expected .py or .psyexp): {file.name}"
            )
        entry = load_experiment(file, key, self.cache_dir)
        if entry.broken:
            log.warning("experiment %s is broken: %s", key, entry.error)
        else:
            log.info("loaded experiment %s", key)
        return entry

    def inside_root(self, path: Path) -> bool:
        """True when ``path`` (absolute) is the root or lies under it."""
        return Path(path).absolute().is_relative_to(self._root)

    def copy_into_root(self, file: str | os.PathLike, folder: str | os.PathLike | None = None) -> Path:
        """What PsychoPy's ``Session.addExperiment`` does with a file outside the root folder.

        The experiment's folder (``folder``, default the file's own) is copied into
        the root as ``<root>/<folder name>`` and the copy's file is returned, so the
        experiment runs from there with its assets; a warning is logged, as in
        PsychoPy. A file already under the root is returned as it is.

        Unlike PsychoPy, a folder of that name already in the root is only
        overwritten when it holds the same experiment file (adding it again
        refreshes the copy); ``__pycache__`` folders are not copied.

        Args:
            file: the experiment file, absolute or relative to root.
            folder: its project folder, absolute or relative to root; must contain ``file``.

        Returns:
            The file to register (absolute).

        Raises:
            ValueError: ``file`` is not inside ``folder``, or ``folder`` contains the root.
            FileExistsError: the root holds another folder of that name.
            OSError: the copy failed.
        """
        file = Path(file)
        file = (file if file.is_absolute() else self._root / file).absolute()
        if folder is None:
            folder = file.parent
        folder = Path(folder)
        folder = (folder if folder.is_absolute() else self._root / folder).absolute()
        if self.inside_root(folder) and self.inside_root(file):
            return file
        if not file.is_relative_to(folder):
            raise ValueError(f"experiment {file} is not inside its folder {folder}: give the folder that holds it")
        if self._root.is_relative_to(folder):
            raise ValueError(
                f"cannot copy {folder} into the experiment root {self._root}: it contains the root; "
                "move the experiment into its own folder"
            )
        dest = self._root / folder.name
        target = dest / file.relative_to(folder)
        if dest.exists() and not target.exists():
            raise FileExistsError(
                f"the experiment root already has a folder named {folder.name!r} with other "
                f"files: rename {folder} or that folder"
            )
        from psychopy import logging as pslogging

        pslogging.warning(
            f"Experiment '{file.stem}' is located outside of the root folder for this Session. All "
            f"files from its experiment folder ('{folder.stem}') will be copied to the root folder "
            "and the experiment will run from there."
        )
        log.warning("experiment %s is outside the root folder: copying %s to %s", file, folder, dest)
        shutil.copytree(folder, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        return target

    def add(self, file: str | os.PathLike, key: str | None = None) -> ExperimentFile:
        """Register ``file`` (absolute or relative to root) under ``key`` (default :meth:`key_for`)."""
        file = Path(file)
        if not file.is_absolute():
            file = self._root / file
        file = file.absolute()
        if key is None:
            key = self.key_for(file)
        entry = self.load(file, key)
        self.files[key] = entry
        self.objects.setdefault(key, None)
        self._on_changed()
        return entry

    def remove(self, key: str) -> bool:
        """Unregister ``key`` (the file is left alone); ``False`` if unknown."""
        if key not in self.files:
            return False
        del self.files[key]
        self.objects.pop(key, None)
        self._on_changed()
        return True

    def discover(self) -> list[Path]:
        """Experiment files under root: ``.psyexp`` files and ``.py`` scripts, sorted by path.

        Skips hidden and ``_`` folders, :data:`SKIP_DIRS`, folders more than
        :data:`MAX_DEPTH` levels down, and a ``.py`` beside a ``.psyexp`` of the
        same name (Builder's compiled output).
        """
        found = []
        for dirpath, dirnames, filenames in os.walk(self._root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")) and d not in SKIP_DIRS)
            depth = len(Path(dirpath).relative_to(self._root).parts)
            if depth >= MAX_DEPTH:
                dirnames[:] = []
            stems = {Path(f).stem for f in filenames if f.endswith(".psyexp")}
            for name in sorted(filenames):
                p = Path(dirpath) / name
                if name.startswith((".", "_")):
                    continue
                if p.suffix == ".psyexp" or (p.suffix == ".py" and p.stem not in stems):
                    found.append(p)
        return found

    def scan(self) -> dict[str, ExperimentFile]:
        """Register every experiment under root, reload changed ones, drop vanished ones."""
        seen = set()
        changed = False
        for path in self.discover():
            key = self.key_for(path)
            seen.add(key)
            old = self.files.get(key)
            if old is None or old.is_stale():
                self.files[key] = self.load(path, key)
                changed = True
        for key in [k for k, e in self.files.items() if k not in seen and not e.path.exists()]:
            del self.files[key]
            changed = True
        if changed:
            self._on_changed()
        return self.files

    def set_root(self, root: Path) -> None:
        """Forget every entry, switch to ``root`` (absolute, existing) and scan it."""
        self._root = Path(root)
        self.files.clear()
        self.objects.clear()
        self.scan()
        self._on_changed()

    def entry(self, key: str, *, keep: str | None = None) -> ExperimentFile:
        """The loaded experiment for ``key``, reloaded first if its file changed on disk.

        Args:
            keep: a key never reloaded now (the experiment being run).

        Raises:
            UnknownExperimentError: no such key.
            ExperimentLoadError: the experiment is broken (message: the reason).
        """
        entry = self.files.get(key)
        if entry is None:
            known = ", ".join(sorted(self.files)) or "none"
            raise UnknownExperimentError(f"no experiment named {key!r} (registered: {known})")
        if entry.is_stale() and entry.path.exists() and key != keep:
            log.info("experiment %s changed on disk; loading it again", key)
            entry = self.load(entry.path, key)
            self.files[key] = entry
            self._on_changed()
        if entry.broken:
            raise ExperimentLoadError(f"experiment {key!r} is broken: {entry.error}")
        return entry


class ExperimentModules(MutableMapping):
    """``Session.experiments``: ``{key: module}`` of the experiments that loaded, a live view.

    Reading and deleting work as on PsychoPy's plain dict (``del
    session.experiments[key]`` unregisters the experiment); broken entries are not
    in it (they are in ``Session.experiment_files``). Assigning a module directly is
    refused: register a file with ``Session.addExperiment``.
    """

    def __init__(self, registry: ExperimentRegistry):
        self._registry = registry

    def _loaded(self) -> dict[str, Any]:
        return {k: e.module for k, e in self._registry.files.items() if e.module is not None}

    def __getitem__(self, key: str):
        entry = self._registry.files.get(key)
        if entry is None or entry.module is None:
            raise KeyError(key)
        return entry.module

    def __setitem__(self, key: str, value) -> None:
        raise TypeError("register experiments with Session.addExperiment(file, key), not by assigning a module")

    def __delitem__(self, key: str) -> None:
        if key not in self._loaded():
            raise KeyError(key)
        self._registry.remove(key)

    def __iter__(self):
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())

    def __repr__(self) -> str:
        return repr(self._loaded())
