"""The assembled docs (models.md, benchmarks.md) are in sync with their parts; README promises hold."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_assembled_docs_are_current():
    proc = subprocess.run([sys.executable, str(ROOT / "docs" / "build_docs.py"), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


def test_readme_has_the_two_setup_commands_and_ci_calls_make_test():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


# The README's code (quick start and every other block) is run by tests/test_readme.py.
