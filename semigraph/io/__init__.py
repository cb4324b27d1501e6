"""Reading and writing datasets and result tables."""
