"""Fails at import: a missing module."""
import rigconsole_no_such_module  # noqa: F401


def setupData(expInfo, dataDir=None):
    return None


def run(expInfo, thisExp, win):
    pass
