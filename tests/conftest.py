"""Test configuration: hypothesis runs derandomised (fixed examples) under CI, random locally."""
import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
