import ArgumentParser

HANetCommand.main()
