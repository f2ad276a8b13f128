"""Qt-free view models: what the console's views show, computed without Qt.

- :mod:`.plot_sources`: the feeds every live plot polls (logged variables,
  trial columns, frame timing, and values streamed from a remote rig), and the
  one trial numbering of plots (PsychoPy's ``thisN`` + 1);
- :mod:`.palette`: the one table of state colours and words (runs, instruments,
  remote connections), used by the Qt views and the browser page.

An import-linter contract (pyproject.toml) keeps this package free of PySide6,
pyqtgraph and qasync; ``tests/views`` imports it with them blocked.
"""
