# policy/: see policy/policy.h.
noinst_LIBRARIES += libpolicy.a
libpolicy_a_SOURCES = \
	policy/policy.h \
	policy/internal.h \
	policy/state.c \
	policy/rules.c \
	policy/view.c \
	$(NULL)

POLICY_TEST_FIXTURE = tests/unit/policy_fixture.c tests/unit/policy_fixture.h

check_PROGRAMS += tests/unit/test_policy tests/unit/test_policy_view
TESTS += tests/unit/test_policy tests/unit/test_policy_view
tests_unit_test_policy_SOURCES = tests/unit/test_policy.c $(POLICY_TEST_FIXTURE)
tests_unit_test_policy_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_policy_LDADD = libpolicy.a libcommon.a $(OPENSSL_LIBS) $(CMOCKA_LIBS)
tests_unit_test_policy_view_SOURCES = tests/unit/test_policy_view.c $(POLICY_TEST_FIXTURE)
tests_unit_test_policy_view_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_policy_view_LDADD = libpolicy.a libcommon.a $(OPENSSL_LIBS) $(CMOCKA_LIBS)
