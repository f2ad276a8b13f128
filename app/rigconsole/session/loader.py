"""Loading experiments by file path, in isolation.

PsychoPy's own ``Session.addExperiment`` imports experiments as packages
relative to the root folder: it writes ``__init__.py`` and the compiled
``.py`` into the user's folder, fails when a folder is named like an installed
package, and never reloads an edited file. Here each experiment is loaded from
its file path under a private module name, Builder ``.psyexp`` files are
compiled into a cache folder (never next to the user's file), the module sees
``__file__`` in the experiment's own folder (so ``_thisDir`` and relative
asset paths resolve there), and a changed file is loaded again.

PsychoPy plugins load as PsychoPy loads them: every installed plugin is
activated (``psychopy.plugins.activatePlugins()``, what a Builder script does
at its top) before a Builder file is compiled, so components that live in
plugins (the noise stimulus is in ``psychopy-visionscience``) compile. A
Builder file using a component or routine no installed plugin provides is
broken, with a reason naming the component and the plugin to install; it is
never compiled with the component dropped (PsychoPy's compiler writes
"Unknown component ignored" and the run fails later with a NameError).
"""

from __future__ import annotations

import copy
import hashlib
import os
import sys
import traceback
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import write_text_atomically
from ..notifications import one_line
from .expinfo import ExpInfoField, parse_exp_info

__all__ = [
    "ExperimentFile",
    "ExperimentLoadError",
    "load_experiment",
    "compile_psyexp",
    "working_dir",
    "file_signature",
    "EXPERIMENT_SUFFIXES",
    "activate_plugins",
    "installed_plugins",
    "missing_plugin_components",
]

EXPERIMENT_SUFFIXES = (".py", ".psyexp")
REQUIRED_FUNCTIONS = ("setupData", "run")


class ExperimentLoadError(Exception):
    """An experiment file could not be loaded; ``str(err)`` is a one-line reason."""


@contextmanager
def working_dir(folder: Path) -> Iterator[None]:
    """Run a block with ``folder`` as the current directory, restoring it after."""
    old = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        try:
            os.chdir(old)
        except OSError:
            pass


def _one_line(err: BaseException) -> str:
    if isinstance(err, SyntaxError):
        where = f"{Path(err.filename or '?').name}, line {err.lineno}"
        return f"syntax error ({where}): {err.msg}"
    if isinstance(err, SystemExit):
        return f"the file called sys.exit({err.code}) while loading"
    return one_line(err)


_plugins_active = False


def activate_plugins() -> list[str]:
    """Load every installed PsychoPy plugin, as a Builder script does (idempotent).

    Returns:
        The names of the installed plugin distributions (sorted).
    """
    global _plugins_active
    from psychopy import plugins

    if not _plugins_active:
        try:
            plugins.activatePlugins()
        except Exception:  # a broken plugin must not take the console down; PsychoPy logs it
            import logging

            logging.getLogger("rigconsole.session").exception("activating PsychoPy plugins failed")
        _plugins_active = True
    return installed_plugins()


def installed_plugins() -> list[str]:
    """Names of the installed distributions with PsychoPy entry points (``psychopy.plugins.listPlugins``)."""
    from psychopy import plugins

    return sorted(plugins.listPlugins("all"))


def missing_plugin_components(exp) -> list[str]:
    """What a loaded ``psychopy.experiment.Experiment`` uses that no installed plugin provides.

    Returns:
        One phrase per component or routine, e.g. ``"component 'noise'
        (NoiseStimComponent, routine 'trial') needs the PsychoPy plugin
        psychopy-visionscience"``; empty when everything is known.
    """
    from psychopy.experiment.components.unknown import UnknownComponent
    from psychopy.experiment.components.unknownPlugin import UnknownPluginComponent
    from psychopy.experiment.routines.unknown import UnknownRoutine

    out = []
    for rname, routine in exp.routines.items():
        if isinstance(routine, UnknownRoutine):
            out.append(
                f"routine {rname!r} ({getattr(routine, 'type', '?')}) is not provided by "
                "PsychoPy or any installed plugin"
            )
            continue
        for comp in list(routine) if isinstance(routine, list) else []:
            if not isinstance(comp, (UnknownComponent, UnknownPluginComponent)):
                continue
            name = comp.params["name"].val if "name" in comp.params else comp.name
            plugin = getattr(comp, "plugin", None)
            what = f"component {name!r} ({comp.type}, routine {rname!r})"
            if plugin not in (None, "", "None", False):
                out.append(f"{what} needs the PsychoPy plugin {plugin}: install it (pip install {plugin})")
            else:
                out.append(f"{what} is not provided by PsychoPy or any installed plugin")
    return out


def _plugins_digest() -> bytes:
    try:
        return ",".join(installed_plugins()).encode()
    except Exception:
        return b""


def compile_psyexp(path: Path, cache_dir: Path) -> Path:
    """Compile a Builder ``.psyexp`` file to a Python script with PsychoPy's compiler.

    The script goes to ``cache_dir`` under a name keyed by the file's path and
    content and the installed plugins, so nothing is written beside the user's
    file and an edited file (or a newly installed plugin) compiles anew.
    Installed plugins are activated first (:func:`activate_plugins`).

    Returns:
        Path of the compiled ``.py`` in ``cache_dir``.

    Raises:
        ExperimentLoadError: the file is not a valid Builder experiment, or it
            uses components no installed plugin provides (the message names
            them and the plugin to install).
    """
    data = path.read_bytes()
    activate_plugins()
    digest = hashlib.sha1(str(path.resolve()).encode() + b"\0" + data + b"\0" + _plugins_digest()).hexdigest()[:16]
    out = cache_dir / f"{path.stem}-{digest}.py"
    if out.is_file():
        return out
    from psychopy import experiment  # heavy, and needs no display

    exp = experiment.Experiment()
    try:
        with working_dir(path.parent):
            exp.loadFromXML(str(path))
            missing = missing_plugin_components(exp)
            if missing:
                more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
                raise ExperimentLoadError(missing[0] + more)
            if "Use version" in exp.settings.params:
                exp.settings.params["Use version"].val = ""
            script = exp.writeScript(target="PsychoPy")
    except ExperimentLoadError:
        raise
    except Exception as err:  # PsychoPy raises many kinds for bad files
        raise ExperimentLoadError(f"not a valid Builder experiment: {_one_line(err)}") from err
    if not script or "def run(" not in script:
        raise ExperimentLoadError("not a valid Builder experiment: PsychoPy's compiler produced no run()")
    return write_text_atomically(out, script)


@dataclass
class ExperimentFile:
    """One registered experiment: its file, loaded module and expInfo fields.

    Attributes:
        key: the name the session knows it by (path relative to root, no suffix).
        path: the ``.py`` or ``.psyexp`` file.
        module: the loaded module, or ``None`` when broken.
        error: one-line reason it is broken, else ``None``.
        traceback: the full traceback text when broken.
        script_path: the Python source actually run (the compiled one for ``.psyexp``).
        fields: the expInfo form fields.
        declared_exp_info: a deep copy of the module's ``expInfo`` as loaded (raw keys);
            a run may change the module's own dict, as under PsychoPy's Session.
        signature: (mtime_ns, size) of ``path`` when loaded; a change triggers a reload.
    """

    key: str
    path: Path
    module: types.ModuleType | None = None
    error: str | None = None
    traceback: str = ""
    script_path: Path | None = None
    fields: list[ExpInfoField] = field(default_factory=list)
    declared_exp_info: dict = field(default_factory=dict)
    signature: tuple[int, int] = (0, 0)

    @property
    def broken(self) -> bool:
        return self.module is None

    @property
    def kind(self) -> str:
        """``"builder"`` for ``.psyexp`` files, ``"script"`` for ``.py``."""
        return "builder" if self.path.suffix == ".psyexp" else "script"

    @property
    def folder(self) -> Path:
        return self.path.parent

    def is_stale(self) -> bool:
        """True when the file changed on disk (or vanished) since it was loaded."""
        try:
            return file_signature(self.path) != self.signature
        except OSError:
            return True

    @property
    def exp_name(self) -> str:
        if self.module is not None and isinstance(getattr(self.module, "expName", None), str):
            return self.module.expName
        return self.path.stem


def file_signature(path: Path) -> tuple[int, int]:
    """``(mtime_ns, size)`` of a file: what :meth:`ExperimentFile.is_stale` compares. Raises ``OSError``."""
    st = path.stat()
    return (st.st_mtime_ns, st.st_size)


def _module_name(path: Path) -> str:
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    safe = "".join(c if c.isalnum() else "_" for c in path.stem)
    return f"rigconsole_experiments.{safe}_{digest}"


def load_experiment(path: Path, key: str, cache_dir: Path) -> ExperimentFile:
    """Load one experiment file in isolation; never raises for a bad file.

    The module is executed with the experiment's folder as current directory
    and ``__file__`` set to ``<folder>/<stem>.py``, and is registered in
    ``sys.modules`` under a private name (``rigconsole_experiments.*``), so it
    cannot clash with installed packages.

    Returns:
        An :class:`ExperimentFile`; when loading failed, ``module`` is ``None``
        and ``error`` holds a one-line reason (syntax error, missing ``run``,
        bad psyexp, an exception at import).
    """
    path = Path(path).resolve()
    entry = ExperimentFile(key=key, path=path)
    try:
        entry.signature = file_signature(path)
    except OSError as err:
        entry.error = f"cannot read the file: {err.strerror or err}"
        return entry
    try:
        script = compile_psyexp(path, cache_dir) if path.suffix == ".psyexp" else path
        entry.script_path = script
        source = script.read_text(encoding="utf-8")
        code = compile(source, str(script), "exec")
        name = _module_name(path)
        module: Any = types.ModuleType(name)
        module.__file__ = str(path.with_suffix(".py"))
        module.__dict__["__builtins__"] = __builtins__
        sys.modules.setdefault("rigconsole_experiments", types.ModuleType("rigconsole_experiments"))
        old = sys.modules.get(name)
        sys.modules[name] = module
        argv = sys.argv
        sys.argv = [str(path)]  # Builder scripts read sys.argv (pilot mode)
        try:
            with working_dir(path.parent):
                exec(code, module.__dict__)
        except BaseException:
            if old is not None:
                sys.modules[name] = old
            else:
                sys.modules.pop(name, None)
            raise
        finally:
            sys.argv = argv
        missing = [fn for fn in REQUIRED_FUNCTIONS if not callable(getattr(module, fn, None))]
        if missing:
            raise ExperimentLoadError(f"missing required function(s): {', '.join(missing)}()")
        exp_info = getattr(module, "expInfo", None)
        if exp_info is None:
            exp_info = {}
            module.expInfo = exp_info
        if not isinstance(exp_info, dict):
            raise ExperimentLoadError(f"expInfo must be a dict, not {type(exp_info).__name__}")
        entry.fields = parse_exp_info(exp_info)
        try:
            entry.declared_exp_info = copy.deepcopy(exp_info)
        except Exception:  # a value that cannot be copied: keep the keys and values as they are
            entry.declared_exp_info = dict(exp_info)
        entry.module = module
    except ExperimentLoadError as err:
        entry.error = str(err)
        entry.traceback = traceback.format_exc()
    except (Exception, SystemExit) as err:
        entry.error = _one_line(err)
        entry.traceback = traceback.format_exc()
    return entry
