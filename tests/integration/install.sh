#!/bin/sh
# An installation as a new operator makes one: configure with another prefix,
# sysconfdir and localstatedir, make install, then the installed programs
# name the configured paths and the installed example configuration works
# for keygen, list and status once the token URI is set (signerd stopped).
# make uninstall removes what make install added.
. "$top_srcdir/tests/lib/common.sh"

new_token insttest
unset SIGNER_CONFIG
X="$T/x"
mkdir "$T/build"
cd "$T/build"
"$top_srcdir/configure" --prefix="$X" --sysconfdir="$X/etc" --localstatedir="$X/var" \
	--disable-tests --with-softhsm-module="$SOFTHSM_MODULE" >"$T/configure.log" 2>&1 ||
	fail "configure: $(tail -20 "$T/configure.log")"
jobs=$(nproc 2>/dev/null || echo 2)
make -j"$jobs" signer/signer signer/signerd >"$T/make.log" 2>&1 || fail "make: $(tail -30 "$T/make.log")"
# install without building the benchmark programs
make install-binPROGRAMS install-sbinPROGRAMS install-man install-data-local \
	>"$T/install.log" 2>&1 || fail "make install: $(tail -30 "$T/install.log")"

conf="$X/etc/p11-signer/signer.conf"
expect_exit 0 "$X/sbin/signerd" --help
expect_msg "then $conf"
expect_exit 0 "$X/bin/signer" --help
expect_msg "then $conf"
grep -q "$X/etc/p11" "$X/share/man/man8/signerd.8" || fail "signerd(8) lacks $X/etc"
grep -q "$X/var/run/p11-signer/token.lock" "$X/share/man/man5/signer.conf.5" ||
	fail "signer.conf(5) lacks the configured lock file"
grep -q "ExecStart=$X/sbin/signerd " "$X/lib/systemd/system/p11-signerd.service" ||
	fail "the unit does not start $X/sbin/signerd"
[ -f "$X/lib/tmpfiles.d/p11-signer.conf" ] && [ -f "$X/lib/sysusers.d/p11-signer.conf" ] ||
	fail "tmpfiles.d or sysusers.d file not installed"
pass "installed programs, man pages and unit name the configured paths"

# Without a configuration file: an error naming the file looked for.
mv "$conf" "$conf.away"
expect_exit 2 "$X/bin/signer" list
expect_msg "no configuration file $conf (the default)"
expect_exit 2 "$X/sbin/signerd" --check-config
expect_msg "no configuration file $conf (the default)"
mv "$conf.away" "$conf"
pass "a missing configuration names $conf"

# The installed example with the token URI set; the PIN where it says.
sed -i "s|^#uri = .*|uri = $TOKEN_URI|" "$conf"
cp "$T/pin" "$X/etc/p11-signer/pin"
expect_exit 0 "$X/bin/signer" keygen --label inst1 --algorithm ES256
expect_exit 0 "$X/bin/signer" list
expect_msg "inst1"
expect_exit 0 "$X/bin/signer" status
[ -f "$X/var/run/p11-signer/token.lock" ] || fail "no lock file in $X/var/run/p11-signer"
[ -f "$X/var/lib/p11-signer/audit.jsonl" ] || fail "no audit journal in $X/var/lib/p11-signer"
pass "the installed example configuration works for keygen, list and status"

# A second install keeps the edited configuration.
make install-data-local >/dev/null 2>&1 || fail "second install"
grep -q "^uri = $TOKEN_URI" "$conf" || fail "make install replaced an edited signer.conf"
pass "make install never overwrites signer.conf"

# Uninstall: the programs, pages, unit, snippets go; the edited configuration stays.
make uninstall >"$T/uninstall.log" 2>&1 || fail "make uninstall: $(tail -20 "$T/uninstall.log")"
left=$(cd "$X" && find . -type f ! -path './var/*' ! -name signer.conf ! -name pin | sort)
[ -z "$left" ] || fail "make uninstall left: $left"
[ -f "$conf" ] || fail "make uninstall removed an edited signer.conf"
pass "make uninstall removes what make install added"
