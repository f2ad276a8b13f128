"""Fixtures for the data-tools UI tests: real DataLog files in tmp_path, closed at teardown."""

from __future__ import annotations

import rigconsole.ui  # noqa: F401  (pins Qt to PySide6 before pytest-qt/pyqtgraph import it)

from support.datalog_fill import SCREENSHOTS, fill_session  # noqa: F401  (re-exported for tests)
