print("hanet")
