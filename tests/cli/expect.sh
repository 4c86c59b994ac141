#!/bin/sh
# Usage: expect.sh EXIT REGEX CMD...  Runs CMD; passes when its exit status is EXIT and its
# combined output matches the extended regex REGEX. For CLI tests that must also check the
# exit code, which CTest's PASS_REGULAR_EXPRESSION alone ignores.
want_exit=$1; regex=$2; shift 2
out=$("$@" 2>&1); got=$?
printf '%s\n' "$out"
if [ "$got" -ne "$want_exit" ]; then echo "expect.sh: exit $got, expected $want_exit"; exit 1; fi
if ! printf '%s\n' "$out" | grep -Eq -- "$regex"; then echo "expect.sh: output does not match: $regex"; exit 1; fi
exit 0
