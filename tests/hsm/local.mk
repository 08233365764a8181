# tests/hsm/: cmocka tests against throwaway SoftHSM2 tokens.
HSM_TESTS = \
	tests/hsm/test_hsm_open \
	tests/hsm/test_hsm_keys \
	tests/hsm/test_hsm_sign \
	tests/hsm/test_hsm_data \
	tests/hsm/test_hsm_recovery \
	tests/hsm/test_hsm_call \
	tests/hsm/test_hsm_evp \
	$(NULL)
check_PROGRAMS += $(HSM_TESTS) tests/hsm/test_p11wrap tests/hsm/test_state_conflict \
	tests/hsm/test_hsm_full tests/hsm/test_state_since
TESTS += $(HSM_TESTS) tests/hsm/test_p11wrap tests/hsm/test_state_conflict \
	tests/hsm/test_hsm_full tests/hsm/test_state_since

HSM_TEST_SOURCES = tests/hsm/hsmtest.c tests/hsm/hsmtest.h \
	tests/lib/testtoken.c tests/lib/testtoken.h
HSM_TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)

tests_hsm_test_hsm_evp_SOURCES = tests/hsm/test_hsm_evp.c $(HSM_TEST_SOURCES)
tests_hsm_test_hsm_evp_CFLAGS = $(HSM_TEST_CFLAGS)
tests_hsm_test_hsm_evp_LDADD = $(TEST_HSM_LIBS)
tests_hsm_test_hsm_open_SOURCES = tests/hsm/test_hsm_open.c $(HSM_TEST_SOURCES)
tests_hsm_test_hsm_open_CFLAGS = $(HSM_TEST_CFLAGS)
tests_hsm_test_hsm_open_LDADD = $(TEST_HSM_LIBS)
tests_hsm_test_hsm_keys_SOURCES = tests/hsm/test_hsm_keys.c $(HSM_TEST_SOURCES)
tests_hsm_test_hsm_keys_CFLAGS = $(HSM_TEST_CFLAGS)
tests_hsm_test_hsm_keys_LDADD = $(TEST_HSM_LIBS)
tests_hsm_test_hsm_sign_SOURCES = tests/hsm/test_hsm_sign.c $(HSM_TEST_SOURCES)
tests_hsm_test_hsm_sign_CFLAGS = $(HSM_TEST_CFLAGS)
tests_hsm_test_hsm_sign_LDADD = $(TEST_HSM_LIBS)
tests_hsm_test_hsm_data_SOURCES = tests/hsm/test_hsm_data.c $(HSM_TEST_SOURCES)
tests_hsm_test_hsm_data_CFLAGS = $(HSM_TEST_CFLAGS)
tests_hsm_test_hsm_data_LDADD = $(TEST_HSM_LIBS)
# Recovery needs the fault-injecting wrapper module (tests/lib/local.mk).
tests_hsm_test_hsm_recovery_SOURCES = tests/hsm/test_hsm_recovery.c $(HSM_TEST_SOURCES)
tests_hsm_test_hsm_recovery_CFLAGS = $(HSM_TEST_CFLAGS)
tests_hsm_test_hsm_recovery_LDADD = $(TEST_HSM_LIBS)
# Functions missing from a module's list (p11wrap's P11WRAP_OMIT).
tests_hsm_test_hsm_call_SOURCES = tests/hsm/test_hsm_call.c $(HSM_TEST_SOURCES)
tests_hsm_test_hsm_call_CFLAGS = $(HSM_TEST_CFLAGS)
tests_hsm_test_hsm_call_LDADD = $(TEST_HSM_LIBS)

tests_hsm_test_p11wrap_SOURCES = tests/hsm/test_p11wrap.c tests/lib/testtoken.h $(NULL)
tests_hsm_test_p11wrap_CFLAGS = $(AM_CFLAGS) $(P11KIT_CFLAGS) $(CMOCKA_CFLAGS)
tests_hsm_test_p11wrap_LDADD = tests/lib/libtestutil.a $(CMOCKA_LIBS) -ldl -lpthread

# The state store's conflict path against a real token.
tests_hsm_test_state_conflict_SOURCES = tests/hsm/test_state_conflict.c \
	tests/hsm/hsmtest.c tests/hsm/hsmtest.h $(NULL)
tests_hsm_test_state_conflict_CFLAGS = $(HSM_TEST_CFLAGS)
tests_hsm_test_state_conflict_LDADD = tests/lib/libtestutil.a $(TEST_SIGNER_LIBS)

# A reader holding a state version never goes back.
tests_hsm_test_state_since_SOURCES = tests/hsm/test_state_since.c \
	tests/hsm/hsmtest.c tests/hsm/hsmtest.h $(NULL)
tests_hsm_test_state_since_CFLAGS = $(HSM_TEST_CFLAGS)
tests_hsm_test_state_since_LDADD = tests/lib/libtestutil.a $(TEST_SIGNER_LIBS)

# A full token store: a small tmpfs in the test's own mount namespace.
tests_hsm_test_hsm_full_SOURCES = tests/hsm/test_hsm_full.c \
	tests/hsm/hsmtest.c tests/hsm/hsmtest.h $(NULL)
tests_hsm_test_hsm_full_CFLAGS = $(HSM_TEST_CFLAGS)
tests_hsm_test_hsm_full_LDADD = tests/lib/libtestutil.a $(TEST_SIGNER_LIBS)
