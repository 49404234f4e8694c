"""Contract enforcement benchmark: our engine against data-quality libraries on one data set."""
