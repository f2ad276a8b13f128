def setupData(expInfo, dataDir=None)
    pass
