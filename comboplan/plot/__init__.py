"""Plotting: every function takes ax=None and returns the matplotlib Axes."""
