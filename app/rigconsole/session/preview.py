"""The subject-screen preview: a small JPEG of the stimulus window, at most once a second.

For a technician whose subject screen is in another room, and for observers
(the remote API's ``GET /api/v1/preview.jpg``, announced by ``preview`` events
on the stream). Off by default (``Settings.preview``).

It must never cost the experiment a frame. The read-back (``glReadPixels``)
is the only part on the main thread. The frame pump does it inside the flip,
right before the buffer swap, when the back buffer holds the finished frame
(:meth:`rigconsole.session.frames.FrameHook.set_before_swap`; the front buffer
after the swap reads black under Xvfb and is undefined under a compositor, and
PsychoPy clears the back buffer right after it), and only when the time left
before this frame's vertical blank, less the flip's measured margin, exceeds
the read-back's measured cost (a running estimate: the 95th percentile of the
last :data:`COST_WINDOW` read-backs, with a safety factor). When it does not fit, the preview waits
for a frame where it does (``skipped_no_room`` counts the frames it let go).
Outside a run (no frame is being recorded) it always fits, which is also how
the first read-backs are measured. The copy of the pixels is handed to a
worker thread, which turns it into a downscaled JPEG with Pillow (installed
with PsychoPy; its resize and JPEG encoder release the GIL) after waiting for
the frame's quiet window (:meth:`FrameBudget.wait_for_quiet`), as the data log
writer does.

Qt-free; PsychoPy's GL bindings (pyglet) are imported when the first frame is read.
"""

from __future__ import annotations

import ctypes
import io
import logging
import math
import statistics
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
from psygnal import Signal, SignalGroup
from pydantic import BaseModel, Field

from ..frame_budget import IDLE, FrameBudget

__all__ = ["PreviewSettings", "PreviewEvents", "Thumbnail", "SubjectPreview", "COST_WINDOW"]

log = logging.getLogger(__name__)

#: read-backs the running cost estimate looks at
COST_WINDOW = 50
#: the estimate is the 95th percentile of those times this factor, plus :data:`COST_PAD_S`
COST_FACTOR = 1.25
COST_PAD_S = 0.0005
#: before any read-back was measured: this many seconds per pixel (llvmpipe's order), plus the pad
PRIOR_S_PER_PIXEL = 8e-9
#: read-backs older than this are left out of the estimate (s): one measured on a busy moment
#: would otherwise keep the preview from ever fitting again, and none would correct it
COST_MAX_AGE_S = 30.0


class PreviewSettings(BaseModel):
    """The subject-screen preview (``Settings.preview``): off until enabled."""

    enabled: bool = Field(False, description="take a thumbnail of the stimulus window for the console and observers")
    max_fps: float = Field(1.0, gt=0.0, le=1.0, description="thumbnails per second at most (1 = one a second)")
    width: int = Field(320, ge=64, le=1024, description="the thumbnail's width, pixels (height keeps the aspect)")
    quality: int = Field(70, ge=20, le=95, description="JPEG quality (Pillow's scale, 20-95)")


@dataclass(frozen=True)
class Thumbnail:
    """One preview image.

    Attributes:
        jpeg: the JPEG file's bytes.
        width, height: its size, pixels.
        seq: 1 for the first thumbnail of this preview, then counting up.
        t: when its frame was read back, epoch seconds (``time.time()``).
        readback_ms: how long the read-back took on the main thread, ms.
        window_size: the stimulus window's size in pixels (width, height).
    """

    jpeg: bytes
    width: int
    height: int
    seq: int
    t: float
    readback_ms: float
    window_size: tuple[int, int]

    def summary(self) -> dict:
        """What the stream's ``preview`` event says of it (no image: that is ``GET /api/v1/preview.jpg``)."""
        return {
            "number": self.seq,
            "t": self.t,
            "width": self.width,
            "height": self.height,
            "bytes": len(self.jpeg),
        }


class PreviewEvents(SignalGroup):
    """``thumbnail(Thumbnail)``: emitted from the preview's worker thread; ``enabled_changed(bool)``."""

    thumbnail = Signal(object)
    enabled_changed = Signal(bool)


def window_pixels(win: Any) -> tuple[int, int]:
    """The stimulus window's framebuffer size, pixels (width, height): PsychoPy's
    ``frameBufferSize`` (larger than ``size`` on a high-DPI screen), else ``size``."""
    fb = getattr(win, "frameBufferSize", None)
    w, h = (fb if fb is not None else win.size)[:2]
    return int(w), int(h)


def finish_rendering(win: Any) -> None:
    """Wait for the GL to finish drawing the frame (``glFinish``). Not extra work: PsychoPy's flip
    calls ``glFinish`` itself after the swap (``waitBlanking``), and the swap shows only a
    finished frame; done first, it keeps the drawing out of the read-back's measured cost."""
    from pyglet import gl

    gl.glFinish()


def read_back_buffer(win: Any) -> np.ndarray:
    """The frame ``win`` is about to show: its back buffer as RGBA, shape (height, width, 4), uint8,
    bottom row first (OpenGL's order). Main thread, inside the flip right before the swap (the
    window's GL context current, the default framebuffer bound: PsychoPy has drawn its frame
    buffer object into it by then).

    Not the front buffer after the swap, as PsychoPy's ``getMovieFrame()`` reads: under Xvfb
    (Mesa) it reads black (measured), and under a compositing window manager its content is
    undefined; after the swap PsychoPy clears the back buffer.
    """
    from pyglet import gl

    w, h = window_pixels(win)
    out = np.empty((h, w, 4), dtype=np.uint8)
    gl.glReadBuffer(gl.GL_BACK)
    gl.glPixelStorei(gl.GL_PACK_ALIGNMENT, 1)
    gl.glReadPixels(0, 0, w, h, gl.GL_RGBA, gl.GL_UNSIGNED_BYTE, out.ctypes.data_as(ctypes.POINTER(ctypes.c_ubyte)))
    return out


def encode_jpeg(rgba: np.ndarray, width: int, quality: int) -> tuple[bytes, int, int]:
    """A bottom-row-first RGBA frame (as :func:`read_back_buffer` gives) as a JPEG ``width`` pixels
    wide (never wider than the frame). Returns (jpeg bytes, width, height)."""
    from PIL import Image

    h, w = rgba.shape[:2]
    # the raw decoder's orientation -1 reads the rows bottom-up: no copy to turn it over
    img = Image.frombuffer("RGBA", (w, h), rgba, "raw", "RGBA", 0, -1).convert("RGB")
    tw = min(int(width), w)
    th = max(1, round(h * tw / w))
    if (tw, th) != (w, h):
        img = img.resize((tw, th), Image.Resampling.BILINEAR, reducing_gap=2.0)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=int(quality), optimize=False)
    return buf.getvalue(), tw, th


class SubjectPreview:
    """The rig component ``"preview"`` (see the module docstring).

    Args:
        settings: the preview's settings (default: off).
        read: the read-back, ``read(win) -> ndarray`` (default :func:`read_back_buffer`).
        finish: waits for the frame's drawing before the read-back is timed (default
            :func:`finish_rendering`).

    Thread use: :meth:`before_swap` on the main thread (the frame pump's); the
    thumbnails are made and announced (``events.thumbnail``) on the preview's
    worker thread; :attr:`latest` and :meth:`stats` from any thread.
    """

    def __init__(
        self, settings: PreviewSettings | None = None, *, read=read_back_buffer, finish=finish_rendering
    ) -> None:
        self.events = PreviewEvents()
        self._settings = settings or PreviewSettings()
        self._read = read
        self._finish = finish
        self._budget: FrameBudget = IDLE
        self._costs: deque[tuple[float, float]] = deque(maxlen=COST_WINDOW)  # (when, cost), perf_counter s
        self._all_costs: list[float] = []  # every read-back of this preview, s (the benchmark's figures)
        #: when each read-back during a run started (``perf_counter()`` s): the benchmark looks up its frame
        self.taken_at: deque[float] = deque(maxlen=100_000)
        self._next_due = 0.0  # perf_counter() before which no read-back is taken
        self._lock = threading.Lock()
        self._pending: tuple[np.ndarray, float, float, tuple[int, int]] | None = None
        self._wake = threading.Condition(self._lock)
        self._closed = False
        self._thread: threading.Thread | None = None
        self._latest: Thumbnail | None = None
        self._seq = 0
        self._hook: Any = None
        self._rig_events: Any = None
        #: frames let go because the read-back did not fit in the time left (during runs)
        self.skipped_no_room = 0
        self.taken = 0
        self.failed = 0

    # ------------------------------------------------------------------ a rig component
    def start(self, rig: Any) -> None:
        """Hook the rig's frame pump and follow its settings (``rig.settings.preview``)."""
        self._budget = rig.frame_budget
        self._hook = rig.session.frame_hook
        self._rig_events = rig.events
        rig.events.settings_applied.connect(self._on_settings)
        self.apply(rig.settings.preview)

    def close(self) -> None:
        """Unhook from the frame pump and stop the worker thread (idempotent)."""
        if self._rig_events is not None:
            self._rig_events.settings_applied.disconnect(self._on_settings)
            self._rig_events = None
        if self._hook is not None:
            self._hook.set_before_swap(None)
            self._hook = None
        with self._lock:
            self._closed = True
            self._wake.notify_all()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(2.0)

    def _on_settings(self, settings: Any) -> None:
        self.apply(settings.preview)

    @property
    def settings(self) -> PreviewSettings:
        return self._settings

    @property
    def enabled(self) -> bool:
        return self._settings.enabled

    def apply(self, settings: PreviewSettings) -> None:
        """Follow new settings: enabled hooks the frame pump's after-flip step, disabled unhooks it."""
        was = self._settings.enabled
        self._settings = settings
        if self._hook is not None:
            self._hook.set_before_swap(self.before_swap if settings.enabled else None)
        if settings.enabled and self._thread is None and not self._closed:
            self._thread = threading.Thread(target=self._work, name="rigconsole preview", daemon=True)
            self._thread.start()
        if settings.enabled != was:
            log.info("subject-screen preview %s", "on" if settings.enabled else "off")
            self.events.enabled_changed.emit(settings.enabled)

    # ------------------------------------------------------------------ main thread
    def cost_estimate(self, pixels: int) -> float:
        """The read-back time to plan for, seconds: the 95th percentile of the last
        :data:`COST_WINDOW` read-backs of the last :data:`COST_MAX_AGE_S` seconds times
        :data:`COST_FACTOR`, plus :data:`COST_PAD_S` (before three such were measured: at least
        :data:`PRIOR_S_PER_PIXEL` per pixel)."""
        since = time.perf_counter() - COST_MAX_AGE_S
        costs = sorted(c for t, c in self._costs if t >= since)
        prior = PRIOR_S_PER_PIXEL * pixels
        if len(costs) < 3:
            base = max([prior, *costs])
        else:
            base = costs[min(len(costs) - 1, math.ceil(0.95 * len(costs)) - 1)]
        return base * COST_FACTOR + COST_PAD_S

    def before_swap(self, win: Any, room_s: float, recording: bool) -> None:
        """The frame pump's before-swap step (main thread, inside the flip): read the frame back
        when one is due and it fits.

        Args:
            win: the stimulus window (``psychopy.visual.Window``), its back buffer the frame
                about to be shown.
            room_s: seconds of main-thread work that cost no frame now
                (:meth:`FrameHook.swap_room`).
            recording: a run's frames are being recorded (outside a run anything fits).
        """
        now = time.perf_counter()
        if now < self._next_due or win is None:
            return
        size = window_pixels(win)
        need = self.cost_estimate(size[0] * size[1])
        if recording and room_s < need:
            self.skipped_no_room += 1
            return
        try:
            self._finish(win)
            t0 = time.perf_counter()
            if recording and room_s - (t0 - now) < need:  # the drawing took the room
                self.skipped_no_room += 1
                return
            pixels = self._read(win)
        except Exception as err:  # a GL error: the preview stops trying for a while, the run goes on
            self.failed += 1
            self._next_due = now + 10.0
            log.warning("subject-screen preview: cannot read the stimulus window (%s); trying again in 10 s", err)
            return
        cost = time.perf_counter() - t0
        if recording:
            self.taken_at.append(t0)
        self._costs.append((t0, cost))
        self._all_costs.append(cost)
        self.taken += 1
        self._next_due = now + 1.0 / self._settings.max_fps
        with self._lock:
            self._pending = (pixels, time.time(), cost, (size[0], size[1]))
            self._wake.notify()

    # ------------------------------------------------------------------ worker thread
    def _work(self) -> None:
        while True:
            with self._lock:
                while self._pending is None and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                pending, self._pending = self._pending, None
            assert pending is not None
            pixels, t, cost, size = pending
            budget = self._budget
            if budget.running:  # the encoder holds the GIL now and then: the frame's quiet window
                budget.wait_for_quiet(1.0 / max(budget.refresh_hz, 1.0), 0.002)
            try:
                s = self._settings
                jpeg, w, h = encode_jpeg(pixels, s.width, s.quality)
            except Exception:  # noqa: BLE001 - one thumbnail lost, logged; the next one may do
                log.exception("subject-screen preview: cannot encode the thumbnail")
                continue
            self._seq += 1
            thumb = Thumbnail(jpeg, w, h, self._seq, t, cost * 1e3, size)
            self._latest = thumb
            try:
                self.events.thumbnail.emit(thumb)
            except Exception:  # noqa: BLE001 - a subscriber's error must not stop the preview
                log.exception("subject-screen preview: a subscriber failed")

    # ------------------------------------------------------------------ any thread
    @property
    def latest(self) -> Thumbnail | None:
        """The newest thumbnail, or ``None`` before the first."""
        return self._latest

    def stats(self) -> dict:
        """``taken``, ``skipped_no_room``, ``failed`` and the read-backs' time: ``readback_ms_median``,
        ``readback_ms_p95``, ``readback_ms_max`` (``None`` before the first), ms."""
        costs = sorted(self._all_costs)
        out: dict = {"taken": self.taken, "skipped_no_room": self.skipped_no_room, "failed": self.failed}
        if costs:
            out["readback_ms_median"] = 1e3 * statistics.median(costs)
            out["readback_ms_p95"] = 1e3 * costs[min(len(costs) - 1, math.ceil(0.95 * len(costs)) - 1)]
            out["readback_ms_max"] = 1e3 * costs[-1]
        else:
            out.update(readback_ms_median=None, readback_ms_p95=None, readback_ms_max=None)
        return out
