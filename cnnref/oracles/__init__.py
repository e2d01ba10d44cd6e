"""Independent ways of computing what an op should return: the oracles a candidate is checked against."""
