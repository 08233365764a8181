# Test harness shared by every fragment.
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)

# Helpers shared by the C tests.
check_LIBRARIES = tests/lib/libtestutil.a
tests_lib_libtestutil_a_SOURCES = tests/lib/testtoken.c tests/lib/testtoken.h $(NULL)

EXTRA_DIST += tests/lib/common.sh tests/lib/mini_ca.py

check_PROGRAMS += tests/lib/statetool
tests_lib_statetool_SOURCES = tests/lib/statetool.c
tests_lib_statetool_LDADD = $(SIGNER_LIBS) $(SIGNER_DEPLIBS)

INTEGRATION_TESTS = \
	tests/integration/state_concurrency.sh \
	tests/integration/state_crash.sh \
	tests/integration/cli_keys.sh \
	tests/integration/cli_refusals.sh \
	tests/integration/rollover.sh \
	tests/integration/verify_adversarial.sh \
	tests/integration/roll_refusals.sh \
	tests/integration/pool_signerd.sh \
	$(NULL)
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS)

check_PROGRAMS += tests/unit/test_state
TESTS += tests/unit/test_state
tests_unit_test_state_SOURCES = tests/unit/test_state.c
tests_unit_test_state_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_state_LDADD = $(SIGNER_LIBS) $(SIGNER_DEPLIBS) $(CMOCKA_LIBS)

# The state store's conflict path against a real token.
check_PROGRAMS += tests/hsm/test_state_conflict
TESTS += tests/hsm/test_state_conflict
tests_hsm_test_state_conflict_SOURCES = tests/hsm/test_state_conflict.c \
	tests/hsm/hsmtest.c tests/hsm/hsmtest.h $(NULL)
tests_hsm_test_state_conflict_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_hsm_test_state_conflict_LDADD = tests/lib/libtestutil.a $(SIGNER_LIBS) $(SIGNER_DEPLIBS) $(CMOCKA_LIBS)
