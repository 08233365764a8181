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

# The installed example configuration lists every key signer knows, each
# with the value in effect when it is left out.
new_token docex
expect_exit 0 "$SIGNER" --config "$top_builddir/dist/signer.conf" config check
printf '%s\n' "$OUT" | sed -n 's/^#\{0,1\}\([a-z_]*\) = .*/\1/p' | sort -u >"$T/keys"
while read -r k; do
	grep -q "^#$k = \|^$k = \|^#$k =$" "$top_builddir/dist/signer.conf" ||
		fail "the example signer.conf lacks the key $k"
done <"$T/keys"
[ "$(wc -l <"$T/keys")" -ge 25 ] || fail "too few keys printed: $(cat "$T/keys")"
# uncommented, every example value is the default signer prints
sed -e '/^# Custodians/,$d' -e 's/^#\([a-z_]* = .\)/\1/' -e 's/^#\(\[type \)/\1/' "$top_builddir/dist/signer.conf" |
	grep -v '^#[a-z_]* =$' >"$T/uncommented.conf"
expect_exit 0 "$SIGNER" --config "$T/uncommented.conf" config check
printf '%s\n' "$OUT" | grep -v '^# effective\|is valid$' >"$T/a"
expect_exit 0 "$SIGNER" --config "$top_builddir/dist/signer.conf" config check
printf '%s\n' "$OUT" | grep -v '^# effective\|is valid$' >"$T/b"
diff "$T/a" "$T/b" >"$T/diff" || fail "example values differ from the defaults: $(cat "$T/diff")"
pass "the example signer.conf lists every key with its default ($(wc -l <"$T/keys") keys)"
