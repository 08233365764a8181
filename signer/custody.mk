# Custodians, quorum, audit journal, pool check (SPEC §6, §7).
libsigner_a_SOURCES += \
	signer/custody.c signer/custody.h \
	signer/audit.c signer/audit.h \
	$(NULL)

signer_signer_SOURCES += \
	signer/cmd_custody.c \
	signer/cmd_audit.c \
	signer/cmd_pool.c \
	$(NULL)
signer_signer_CFLAGS += $(CURL_CFLAGS)
signer_signer_LDADD += $(CURL_LIBS)

check_PROGRAMS += tests/unit/test_custody tests/unit/test_audit
TESTS += tests/unit/test_custody tests/unit/test_audit
tests_unit_test_custody_SOURCES = tests/unit/test_custody.c
tests_unit_test_custody_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_custody_LDADD = $(SIGNER_LIBS) $(SIGNER_DEPLIBS) $(CMOCKA_LIBS)
tests_unit_test_audit_SOURCES = tests/unit/test_audit.c
tests_unit_test_audit_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_audit_LDADD = $(SIGNER_LIBS) $(SIGNER_DEPLIBS) $(CMOCKA_LIBS)

CUSTODY_TESTS = \
	tests/integration/custody_quorum.sh \
	tests/integration/pool_check.sh \
	$(NULL)
TESTS += $(CUSTODY_TESTS)
EXTRA_DIST += $(CUSTODY_TESTS) tests/integration/fake_member.py
