#!/bin/sh
# signerd(8)'s API examples are valid JSON: every .nf/.fi block and every
# quoted {...} example of the API section parses.
. "$top_srcdir/tests/lib/common.sh"
"$PYTHON" - "$top_builddir/doc/signerd.8" <<'EOPY' || fail "signerd(8) has an API example that is not JSON"
import json, re, sys
text = open(sys.argv[1]).read()
api = text[text.index("\n.SH API"):text.index("\n.SH LIMITS")]
roff = lambda s: s.replace("\\-", "-").replace('""', '"')
n = 0
for block in re.findall(r"\n\.nf\n(.*?)\n\.fi", api, re.S):
    json.loads(roff(block.replace("\n", " ")))
    n += 1
for ex in re.findall(r'^\.BR? "?(\{.*\})"?(?: \.)?$', api, re.M):
    json.loads(roff(ex))
    n += 1
assert n >= 6, n
print("ok: %d JSON examples in signerd(8) parse" % n)
EOPY
