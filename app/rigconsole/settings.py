"""Console settings: a typed, versioned model saved as JSON under the platform config folder.

The file is ``<user_config_dir>/rigconsole/settings.json`` (platformdirs), or
the path in the ``RIGCONSOLE_SETTINGS`` environment variable (tests point it at
a temporary file). Unknown or invalid content never stops the console: it
falls back to defaults and logs one line saying what was wrong.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import platformdirs
from pydantic import BaseModel, Field, ValidationError, field_validator

from .remote.settings import RemoteSettings
from .session.monitor import MonitorSettings
from .session.preview import PreviewSettings

__all__ = [
    "WindowSettings",
    "Settings",
    "settings_path",
    "load_settings",
    "save_settings",
    "default_root",
    "SCHEMA_VERSION",
]

log = logging.getLogger(__name__)
SCHEMA_VERSION = 1


def default_root() -> Path:
    """The bundled demo experiments: ``resources/experiments`` of the source tree or the installed app."""
    here = Path(__file__).resolve()
    for base in (here.parents[2], here.parent):
        cand = base / "resources" / "experiments"
        if cand.is_dir():
            return cand
    import sys

    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources" / "experiments"
    return here.parents[2] / "resources" / "experiments"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("rigconsole")) / "data"


class WindowSettings(BaseModel):
    """The subject-screen PsychoPy window (``psychopy.visual.Window`` arguments)."""

    screen: int = Field(0, ge=0, description="screen index, 0 = primary")
    size: tuple[int, int] = Field((1024, 768), description="window size, pixels (width, height)")
    fullscr: bool = False
    color: str = "grey"
    units: str = "height"

    @field_validator("size")
    @classmethod
    def _positive(cls, v):
        if v[0] < 64 or v[1] < 64:
            raise ValueError("window size must be at least 64 x 64 pixels")
        return v

    def window_params(self) -> dict:
        return {
            "screen": self.screen,
            "size": list(self.size),
            "fullscr": self.fullscr,
            "color": self.color,
            "units": self.units,
            "allowGUI": not self.fullscr,
        }


class Settings(BaseModel):
    """What the console remembers between launches."""

    version: int = SCHEMA_VERSION
    root: Path = Field(default_factory=default_root, description="experiment root folder")
    data_dir: Path = Field(default_factory=default_data_dir, description="data folder")
    window: WindowSettings = Field(default_factory=WindowSettings)
    extra_experiments: list[Path] = Field(default_factory=list, description="experiments added from outside the root")
    monitor: MonitorSettings | None = Field(
        None,
        description="the subject screen's monitor (a Monitor Center "
        "profile by name, or width, distance and resolution): needed for deg/cm units",
    )
    remote: RemoteSettings = Field(default_factory=RemoteSettings, description="remote attach (off until enabled)")
    preview: PreviewSettings = Field(
        default_factory=PreviewSettings, description="subject-screen preview for the console and observers (off)"
    )
    rig_file: Path | None = Field(
        None,
        description="the rig file declaring the instruments (YAML, docs/instruments.md); "
        "None: the bundled simulated rig",
    )
    geometry: str = Field("", description="main window geometry, opaque (UI-owned, base64)")
    window_state: str = Field("", description="dock layout, opaque (UI-owned, base64)")
    plot_layout: list[dict] = Field(default_factory=list, description="plot docks: variable, axis")
    last_exp_info: dict[str, dict] = Field(default_factory=dict, description="last expInfo per experiment key")

    # -- what the console changes (one owner: the views call these, never assign fields) --
    def add_extra_experiment(self, path: Path) -> bool:
        """Remember an experiment added from outside the root; ``False`` if it was already."""
        path = Path(path).absolute()
        if path in [Path(p).absolute() for p in self.extra_experiments]:
            return False
        self.extra_experiments.append(path)
        return True

    def remove_extra_experiment(self, path: Path) -> None:
        """Forget an experiment added from outside the root (no error if it was not remembered)."""
        path = Path(path).absolute()
        self.extra_experiments[:] = [p for p in self.extra_experiments if Path(p).absolute() != path]

    def remember_window(self, geometry: str, window_state: str) -> None:
        """Keep the main window's geometry and dock layout (opaque base64 text, UI-owned)."""
        self.geometry = geometry
        self.window_state = window_state

    def remember_plot_layout(self, layout: list[dict]) -> None:
        """Keep the open plot docks (``{"kind", "name", "axis", "follow"}`` each)."""
        self.plot_layout = list(layout)

    def adopt(self, other: Settings, fields: tuple[str, ...]) -> None:
        """Take ``fields`` from ``other`` (settings applied from the Settings dialog)."""
        for name in fields:
            setattr(self, name, getattr(other, name))


def settings_path() -> Path:
    env = os.environ.get("RIGCONSOLE_SETTINGS")
    if env:
        return Path(env)
    return Path(platformdirs.user_config_dir("rigconsole")) / "settings.json"


def load_settings(path: Path | None = None) -> Settings:
    """Read settings; defaults when the file is missing, unreadable or invalid (logged)."""
    path = path or settings_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError) as err:
        log.warning("settings file %s is unreadable (%s); using defaults", path, err)
        return Settings()
    try:
        return Settings.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        log.warning("settings file %s: %s: %s; using defaults", path, where, first["msg"])
        return Settings()


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write settings atomically (:func:`rigconsole.atomic.write_text_atomically`). Returns the path."""
    from .atomic import write_text_atomically

    return write_text_atomically(path or settings_path(), settings.model_dump_json(indent=2))
