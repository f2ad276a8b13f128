"""Deliberately broken: has setupData() but no run()."""
expInfo = {'participant': ''}


def setupData(expInfo, dataDir=None):
    return None
