"""Has setupData but no run()."""
expInfo = {}


def setupData(expInfo, dataDir=None):
    return None
