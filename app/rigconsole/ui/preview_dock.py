"""The subject-screen preview in the console: a small dock showing what the participant sees.

For a technician whose subject screen is in another room. The thumbnails come
from the rig's :class:`rigconsole.session.preview.SubjectPreview` (at most one a
second, read back only when the frame budget says it fits); they are decoded on
the preview's worker thread into a ``QImage`` and handed to the GUI thread by a
queued Qt signal, so the console's share of a frame is setting a small pixmap, and
that waits for a pump with time for it (``FrameBudget.time_left``, as a plot's redraw).
The observer window shows the same :class:`ThumbnailView`.
"""

from __future__ import annotations

import math
import time
from typing import Any

from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QSizePolicy, QVBoxLayout, QWidget

from ..frame_budget import IDLE, FrameBudget
from ..views.palette import NEUTRAL
from .budget import CostEstimate

__all__ = ["ThumbnailView", "PreviewDock", "attach_preview_dock", "decode_jpeg"]

OFF_TEXT = "The subject-screen preview is off: turn it on in File → Settings… (General)."
WAITING_TEXT = "Waiting for the stimulus window's next frame…"


def decode_jpeg(jpeg: bytes) -> QImage:
    """A JPEG as a ``QImage`` (any thread: QImage is not a GUI-thread object). A null image when
    the bytes are not a JPEG Qt can read."""
    img = QImage()
    img.loadFromData(jpeg, "JPG")
    return img


class ThumbnailView(QLabel):
    """A thumbnail scaled to the label's width, keeping its aspect ratio; a grey line of text
    before the first one (:meth:`show_text`)."""

    def __init__(self, parent: QWidget | None = None, *, min_width: int = 160) -> None:
        super().__init__(parent)
        self._pixmap: QPixmap | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(QSize(min_width, min_width * 3 // 4))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setWordWrap(True)
        self.setStyleSheet(f"color: {NEUTRAL}; background: #1d2330; border-radius: 4px;")

    def show_image(self, image: QImage) -> None:
        """Show ``image`` (a null one is ignored)."""
        if image.isNull():
            return
        self._pixmap = QPixmap.fromImage(image)
        self._fit()

    def show_text(self, text: str) -> None:
        self._pixmap = None
        self.clear()
        self.setText(text)

    def has_image(self) -> bool:
        return self._pixmap is not None

    def image_size(self) -> tuple[int, int] | None:
        """The thumbnail's own size, pixels (width, height), or ``None``."""
        return None if self._pixmap is None else (self._pixmap.width(), self._pixmap.height())

    def _fit(self) -> None:
        pm = self._pixmap
        if pm is None:
            return
        w = max(1, self.width() - 4)
        h = max(1, self.height() - 4)
        self.setPixmap(pm.scaled(w, h, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt's name
        pm = self._pixmap
        return width * 3 // 4 if pm is None or not pm.width() else width * pm.height() // pm.width()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()


class _Relay(QObject):
    """Carries the preview's announcements (its worker thread) to the GUI thread, queued."""

    thumbnail = Signal(QImage, int, float)
    enabled = Signal(bool)

    # psygnal holds bound methods weakly: the relay's own methods, kept alive by the dock
    def on_thumbnail(self, thumb: Any) -> None:
        self.thumbnail.emit(decode_jpeg(thumb.jpeg), int(thumb.seq), float(thumb.t))

    def on_enabled(self, on: bool) -> None:
        self.enabled.emit(bool(on))


class PreviewDock(QDockWidget):
    """The "Subject screen" dock: the newest thumbnail and when it was taken.

    Attributes:
        view: the :class:`ThumbnailView`.
        caption: one line under it ("12:03:41 · 320 × 240 · at most one a second").
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Subject screen", parent)
        self.setObjectName("dock_preview")
        self.view = ThumbnailView(self)
        self.caption = QLabel("")
        self.caption.setStyleSheet(f"color: {NEUTRAL}")
        body = QWidget(self)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.caption)
        self.setWidget(body)
        self._relay = _Relay(self)
        self._relay.thumbnail.connect(self.show_thumbnail)
        self._relay.enabled.connect(self._switched)
        self._preview: Any = None
        self._budget: FrameBudget = IDLE
        self._cost = CostEstimate(first_s=0.002)
        self._pending: tuple[QImage, int, float] | None = None
        self._retry = QTimer(self)
        self._retry.setSingleShot(True)
        self._retry.setInterval(15)
        self._retry.timeout.connect(self._show_pending)
        self.view.show_text(OFF_TEXT)

    def use_budget(self, budget: FrameBudget | None) -> None:
        """Show a thumbnail only in a frame pump with time for it (``None``: always at once)."""
        self._budget = budget or IDLE

    def follow(self, preview: Any) -> None:
        """Show the thumbnails of ``preview`` (a :class:`~rigconsole.session.preview.SubjectPreview`,
        or ``None``), following it being switched on and off."""
        self.unfollow()
        self._preview = preview
        if preview is None:
            return
        preview.events.thumbnail.connect(self._relay.on_thumbnail)
        preview.events.enabled_changed.connect(self._relay.on_enabled)
        self.set_preview_enabled(preview.enabled)
        latest = preview.latest
        if latest is not None and preview.enabled:
            self.show_thumbnail(decode_jpeg(latest.jpeg), latest.seq, latest.t)

    def unfollow(self) -> None:
        preview, self._preview = self._preview, None
        if preview is not None:
            preview.events.thumbnail.disconnect(self._relay.on_thumbnail)
            preview.events.enabled_changed.disconnect(self._relay.on_enabled)

    def set_preview_enabled(self, on: bool) -> None:
        if not on:
            self.view.show_text(OFF_TEXT)
            self.caption.setText("")
        elif not self.view.has_image():
            self.view.show_text(WAITING_TEXT)

    def _switched(self, on: bool) -> None:
        """The preview was switched on or off (Settings): turned on, the dock shows itself."""
        self.set_preview_enabled(on)
        if on:
            self.show()

    def show_thumbnail(self, image: QImage, seq: int, t: float) -> None:
        """Show a thumbnail taken at ``t`` (epoch s); put off (the newest kept) while the frame pump
        has less time left than showing one is expected to take."""
        if self._preview is not None and not self._preview.enabled:
            return  # switched off meanwhile
        left = self._budget.time_left()
        if left < self._cost.expected():
            self._cost.put_off()
            self._pending = (image, seq, t)
            self._retry.start()
            return
        self._pending = None
        t0 = time.perf_counter()
        self.view.show_image(image)
        self.caption.setText(
            f"{time.strftime('%H:%M:%S', time.localtime(t))} · {image.width()} × {image.height()} · "
            "at most one a second, only when a frame has room"
        )
        if math.isfinite(left):  # timed in a pump only: an idle console's times say nothing of a run's
            self._cost.add(time.perf_counter() - t0)
        else:
            self._cost.ran()

    def _show_pending(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            self.show_thumbnail(*pending)


def attach_preview_dock(
    window: QMainWindow, preview: Any, *, view_menu: Any = None, budget: FrameBudget | None = None
) -> PreviewDock:
    """Give ``window`` the "Subject screen" dock (right side; its toggle in ``view_menu``) showing
    ``preview``'s thumbnails (the rig's ``"preview"`` component) within ``budget`` (the rig's
    frame budget). Shown when the preview is on, else as the saved dock layout has it (hidden at first)."""
    dock = PreviewDock(window)
    dock.use_budget(budget)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    on = bool(preview is not None and preview.enabled)
    if not window.restoreDockWidget(dock) or on:  # the layout kept decides, unless the preview is on
        dock.setVisible(on)
    if view_menu is not None:
        view_menu.addAction(dock.toggleViewAction())
    dock.follow(preview)
    return dock
