"""Reproducible load benchmark of the desktop protocol (`make bench`)."""
