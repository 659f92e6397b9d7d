#!/bin/sh
# The GUI tests. A Qt teardown race ("pure virtual method called", under investigation) can
# abort the process intermittently; an abort (not a failing assertion) is run once more and
# reported, so it stays visible without blocking a green run.
QT_QPA_PLATFORM=offscreen "$1" -m pytest tests/gui
rc=$?
if [ "$rc" -eq 134 ] || [ "$rc" -eq 139 ]; then
  echo "gui-tests: the test process aborted (exit $rc, a known intermittent Qt teardown crash); running the GUI tests once more" >&2
  QT_QPA_PLATFORM=offscreen "$1" -m pytest tests/gui
  rc=$?
fi
exit $rc
