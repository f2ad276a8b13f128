"""The signals of a session data log (psygnal, no Qt)."""

from __future__ import annotations

from psygnal import Signal, SignalGroup

__all__ = ["DataLogEvents"]


class DataLogEvents(SignalGroup):
    """Signals of a :class:`~rigconsole.datalog.DataLog` (psygnal, no Qt).

    All but ``flushed`` and ``write_error`` are emitted synchronously on the
    thread that called the method, after the value is in the in-memory mirror
    (so a slot may read it back). ``flushed`` and ``write_error`` come from the
    writer thread. Marshal to the GUI thread yourself.
    """

    #: (timestamp epoch s, {name: float}) after add_entry
    entry_added = Signal(float, dict)
    #: ({name: value}) after save_parameter
    parameter_saved = Signal(dict)
    #: (name, timestamp epoch s, shape tuple) after add_dataset
    dataset_added = Signal(str, float, tuple)
    #: (run path, experiment name, expInfo dict) after start_run
    run_started = Signal(str, str, dict)
    #: (run path, normalised row dict) after add_trial
    trial_added = Signal(str, dict)
    #: (run path, number of intervals added) after add_frame_intervals
    frame_intervals_added = Signal(str, int)
    #: (run path, {attr: value}) after set_run_attrs
    run_attrs_set = Signal(str, dict)
    #: (run path, outcome) after end_run
    run_ended = Signal(str, str)
    #: (epoch s of the snapshot now durable) from the writer thread after each flush
    flushed = Signal(float)
    #: (one-line message) from the writer thread when writing failed
    write_error = Signal(str)
    #: (timestamp epoch s, {'t', 'source', 'kind', 'text', 'fields'}) after add_annotation
    annotation_added = Signal(float, dict)
