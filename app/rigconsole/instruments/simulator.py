"""A small SCPI instrument on a real TCP socket (127.0.0.1), for tests and demos.

It speaks line-terminated SCPI (``\\n``) like a LAN instrument's raw socket
port (VISA resource ``TCPIP0::127.0.0.1::PORT::SOCKET``) and can be told to
misbehave: reply late, hang (read commands, never answer), drop the
connection, or send garbage. It simulates a temperature sensor with a
programmable power output::

    *IDN?            -> "Rig Console,SIM-TEMP-1,0001,1.0"
    MEAS:TEMP?       -> temperature, degC (slowly drifting, with noise)
    MEAS:VOLT?       -> the output voltage, V
    VOLT <v> / VOLT? -> set / read the output voltage setpoint, V
    OUTP ON|OFF / OUTP?
    *RST, *CLS       -> no reply

Control commands are always answered, in every mode, on any connection::

    SIM:MODE NORMAL | LATE <seconds> | HANG | DROP | GARBAGE   -> "OK"
    SIM:MODE?                                                  -> the mode

Run one: ``python -m rigconsole.instruments.simulator [--port 5025] [--mode hang]``.
"""

from __future__ import annotations

import argparse
import math
import random
import socket
import sys
import threading
import time

__all__ = ["SimulatedInstrument", "MODES"]

MODES = ("normal", "late", "hang", "drop", "garbage")


class SimulatedInstrument:
    """A SCPI instrument served on ``host:port`` by a listener thread and one thread per connection.

    ``port=0`` picks a free port (read :attr:`port` after :meth:`start`).
    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    Only loopback addresses are accepted (tests talk to 127.0.0.1 only).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        mode: str = "normal",
        late_s: float = 2.0,
        idn: str = "Rig Console,SIM-TEMP-1,0001,1.0",
    ):
        if not host.startswith("127.") and host != "localhost":
            raise ValueError(f"the simulator serves loopback only, not {host!r}")
        self.host = host
        self.port = port
        self.idn = idn
        self._lock = threading.Lock()
        self._mode = "normal"
        self._late_s = late_s
        self.set_mode(mode, late_s)
        self._voltage = 0.0
        self._output = False
        self._t0 = time.time()
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        #: commands received (all connections), for tests
        self.received: list[str] = []

    # ------------------------------------------------------------------ control

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def resource(self) -> str:
        """The VISA resource name of this simulator (pyvisa-py raw socket)."""
        return f"TCPIP0::{self.host}::{self.port}::SOCKET"

    def set_mode(self, mode: str, late_s: float | None = None) -> None:
        """Switch behaviour: ``normal``, ``late`` (reply after ``late_s`` s), ``hang``, ``drop``, ``garbage``."""
        mode = mode.lower()
        if mode not in MODES:
            raise ValueError(f"unknown simulator mode {mode!r}; one of {', '.join(MODES)}")
        with self._lock:
            self._mode = mode
            if late_s is not None:
                self._late_s = float(late_s)

    def drop_connections(self) -> None:
        """Close every open client connection now (the cable is pulled)."""
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            _close(c)

    def start(self) -> SimulatedInstrument:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.host, self.port))
        s.listen(8)
        s.settimeout(0.2)
        self.port = s.getsockname()[1]
        self._listener = s
        self._stop.clear()
        t = threading.Thread(target=self._accept, name=f"sim-scpi-{self.port}", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        """Stop listening and close every connection (the instrument is switched off). Idempotent."""
        self._stop.set()
        if self._listener is not None:
            _close(self._listener)
            self._listener = None
        self.drop_connections()
        for t in self._threads:
            t.join(timeout=2.0)
        self._threads.clear()

    def __enter__(self) -> SimulatedInstrument:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ serving

    def _accept(self) -> None:
        while not self._stop.is_set():
            lst = self._listener
            if lst is None:
                return
            try:
                conn, _ = lst.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._conns.add(conn)
            t = threading.Thread(target=self._serve, args=(conn,), name=f"sim-scpi-{self.port}-conn", daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, conn: socket.socket) -> None:
        buf = b""
        conn.settimeout(0.2)
        try:
            while not self._stop.is_set():
                try:
                    chunk = conn.recv(4096)
                except TimeoutError:
                    continue
                if not chunk:
                    return
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    cmd = line.decode("ascii", "replace").strip()
                    if cmd:
                        if not self._handle(conn, cmd):
                            return
        except OSError:
            return
        finally:
            with self._lock:
                self._conns.discard(conn)
            _close(conn)

    def _handle(self, conn: socket.socket, cmd: str) -> bool:
        """Answer one command; False when the connection was dropped."""
        self.received.append(cmd)
        up = cmd.upper()
        if up.startswith("SIM:"):
            conn.sendall((self._control(up) + "\n").encode())
            return True
        with self._lock:
            mode, late = self._mode, self._late_s
        if mode == "drop":
            return False
        reply = self._reply(up)
        if reply is None or mode == "hang":
            return True
        if mode == "garbage":
            conn.sendall(bytes(random.randrange(33, 127) for _ in range(12)) + b"#\xff\n")
            return True
        if mode == "late":
            if self._stop.wait(late):
                return False
        conn.sendall((reply + "\n").encode())
        return True

    def _control(self, up: str) -> str:
        if up.startswith("SIM:MODE?"):
            return self._mode.upper()
        parts = up.split()
        if len(parts) >= 2 and parts[0] == "SIM:MODE":
            try:
                self.set_mode(parts[1], float(parts[2]) if len(parts) > 2 else None)
            except ValueError as err:
                return f"ERR {err}"
            return "OK"
        return "ERR unknown SIM command"

    def _reply(self, up: str) -> str | None:
        t = time.time() - self._t0
        if up == "*IDN?":
            return self.idn
        if up in ("MEAS:TEMP?", "MEASURE:TEMPERATURE?"):
            return f"{22.0 + 0.5 * math.sin(t / 20.0) + random.gauss(0, 0.02):.4f}"
        if up in ("MEAS:VOLT?",):
            return f"{self._voltage if self._output else 0.0:.4f}"
        if up.startswith("VOLT?"):
            return f"{self._voltage:.4f}"
        if up.startswith("VOLT "):
            try:
                self._voltage = float(up.split()[1])
            except (IndexError, ValueError):
                pass
            return None
        if up.startswith("OUTP?"):
            return "1" if self._output else "0"
        if up.startswith("OUTP "):
            self._output = up.split()[1] in ("ON", "1")
            return None
        if up in ("*RST", "*CLS"):
            self._voltage, self._output = 0.0, False
            return None
        if up.endswith("?"):
            return 'ERR -113,"Undefined header"'
        return None


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m rigconsole.instruments.simulator",
        description="A SCPI instrument on a TCP socket on 127.0.0.1 (see the module docstring).",
    )
    ap.add_argument("--port", type=int, default=5025)
    ap.add_argument("--mode", choices=MODES, default="normal")
    ap.add_argument("--late-s", type=float, default=2.0, help="reply delay in 'late' mode, seconds")
    args = ap.parse_args(argv)
    sim = SimulatedInstrument(port=args.port, mode=args.mode, late_s=args.late_s).start()
    print(f"simulated SCPI instrument on {sim.resource} (mode {sim.mode}); Ctrl-C stops it", flush=True)
    try:
        while True:
            time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
