"""Assemble docs/models.md and docs/benchmarks.md from the per-capability parts.

    python docs/build_docs.py          # rewrite both files
    python docs/build_docs.py --check  # exit 1 if they are out of date (run by the tests)
"""
from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ORDER = ["dose_response", "combination", "growth", "pk", "bayes"]
HEADERS = {
    "models.md": ("# Models, equations and references\n\n"
                  "Every equation comboplan implements, with the publication it comes from and the correspondence "
                  "to peer tools (R drc, SynergyFinder, CompuSyn, the `synergy` package, Monolix-style TGI models). "
                  "Assembled from `docs/models/*.md` by `docs/build_docs.py`.\n"),
    "benchmarks.md": ("# Benchmarks\n\n"
                      "Speed targets live in `benchmarks/`; each script measures comboplan against a baseline in the "
                      "same run and prints the ratio. The numbers below were measured on the 2-core development "
                      "machine (often shared with other jobs, which makes absolute times pessimistic); each section "
                      "gives the command that produced it. Run them all with `make bench`. "
                      "Assembled from `docs/benchmarks/*.md` by `docs/build_docs.py`.\n"),
}


def _parts(folder: str) -> list[Path]:
    files = sorted((DOCS / folder).glob("*.md"))
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(files, key=lambda p: (rank.get(p.stem, len(ORDER)), p.stem))


def build() -> dict[str, str]:
    """Return the assembled text of models.md and benchmarks.md."""
    out = {}
    for target, folder in (("models.md", "models"), ("benchmarks.md", "benchmarks")):
        body = [HEADERS[target]]
        for p in _parts(folder):
            text = p.read_text(encoding="utf-8").strip()
            body.append(f"<!-- from docs/{folder}/{p.name} -->\n\n{text}\n")
        out[target] = "\n".join(body)
    return out


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    texts = build()
    stale = [name for name, text in texts.items()
             if not (DOCS / name).exists() or (DOCS / name).read_text(encoding="utf-8") != text]
    if "--check" in argv:
        if stale:
            print(f"out of date: {', '.join(stale)}; run python docs/build_docs.py")
            return 1
        return 0
    for name, text in texts.items():
        (DOCS / name).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
