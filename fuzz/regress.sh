#!/bin/sh
# Replays every committed corpus entry (fuzz/corpus/X/) through its fuzz
# target, built as a plain program (fuzz/run_X).  A crash or a sanitizer
# report fails the test.  Run by `make check`; see fuzz/README.md.
set -u
: "${top_srcdir:?run through make check}" "${top_builddir:?run through make check}"

status=0
for t in config date jwt state uri http_json approval keyfile audit dn member pool; do
	if ! "$top_builddir/fuzz/run_$t" "$top_srcdir/fuzz/corpus/$t"; then
		echo "FAIL: fuzz/run_$t on fuzz/corpus/$t" >&2
		status=1
	fi
done
exit $status
