#!/bin/sh
# Run the GUI tests N times in a row (default 10) and report how many runs aborted (a crash,
# not a failing assertion): the check that the window has no known teardown crash.
#   sh scripts/gui-repeat.sh [N] [python]
n=${1:-10}
py=${2:-.venv/bin/python}
aborts=0
failures=0
for i in $(seq 1 "$n"); do
  QT_QPA_PLATFORM=offscreen "$py" -m pytest -q -p no:cacheprovider tests/gui --deselect tests/gui/test_stress.py >/tmp/gui-repeat.$$.log 2>&1
  rc=$?
  case $rc in
    0) echo "run $i: passed" ;;
    1) echo "run $i: FAILED (assertions)"; failures=$((failures + 1)); tail -5 /tmp/gui-repeat.$$.log ;;
    *) echo "run $i: ABORTED (exit $rc)"; aborts=$((aborts + 1)); tail -20 /tmp/gui-repeat.$$.log ;;
  esac
done
rm -f /tmp/gui-repeat.$$.log
echo "$n runs: $aborts aborted, $failures failed"
[ "$aborts" -eq 0 ] && [ "$failures" -eq 0 ]
