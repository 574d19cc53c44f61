#!/bin/sh
# tests/bench/run-notify.sh BUILD_ROOT - missed-call notifications (issue 7):
# notification mails rendered per second through the shipped XSLT template
# (bench-notify: document, XSLT, subject, text, vCard; no I/O), and
# notification mails delivered per second end to end to the SMTP server of
# the tests (tests/bench/bench_notify.py). Prints "bench NAME VALUE UNIT".
set -eu
build=$(cd "${1:-build}" && pwd)
if [ ! -e "$build/plugins/notify.so" ]; then
	echo "# run-notify.sh: notify plugin not built"
	exit 0
fi
bench=$build/plugins/notify/bench-notify
if [ -x "$bench" ]; then
	TZ=UTC "$bench" 3
else
	echo "# bench-notify not built (ninja -C $build benchmarks)"
fi
if [ -e "$build/plugins/mail.so" ]; then
	/usr/bin/python3 "$(dirname "$0")/bench_notify.py" "$build"
else
	echo "# run-notify.sh: mail plugin not built: no end-to-end figure"
fi
