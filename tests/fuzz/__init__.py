"""The conversation fuzzer of issue 12: seeded random walks through the real pipeline (see walk.py)."""
