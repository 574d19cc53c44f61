#!/bin/sh
# tests/bench/run-mail.sh BUILD_ROOT - the mail plugin (issue 7): durable
# submits per second, messages delivered per second to a real SMTP server
# (aiosmtpd, tests/integration/smtpd.py), and the outbox recovery after a
# restart with 10,000 queued messages (tests/bench/bench_mail.py says what
# each figure measures). Needs Debian's /usr/bin/python3 (aiosmtpd) and the
# built tree (mail.so, svcprobe.so); prints "bench NAME VALUE UNIT" lines.
set -eu
build=$(cd "${1:-build}" && pwd)
if [ ! -e "$build/plugins/mail.so" ]; then
	echo "# run-mail.sh: mail plugin not built"
	exit 0
fi
exec /usr/bin/python3 "$(dirname "$0")/bench_mail.py" "$build"
