"""Deliberately broken: a syntax error."""
expInfo = {'participant': ''}


def setupData(expInfo, dataDir=None)
    return None


def run(expInfo, thisExp, win):
    pass
