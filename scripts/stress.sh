#!/bin/sh
# The whole stress test of issue 8: 20 windows × 500 rapid random changes, each closed while
# work may still run (make test runs 3 of them). Takes minutes.
GRADVIZ_STRESS_RUNS=20 QT_QPA_PLATFORM=offscreen "${1:-.venv/bin/python}" -m pytest -q -p no:cacheprovider tests/gui/test_stress.py
