# hsm/: owned by the hsm work; see hsm/hsm.h.
noinst_LIBRARIES += libhsm.a
libhsm_a_SOURCES = \
	hsm/hsm.h hsm/internal.h \
	hsm/module.c \
	hsm/uri.c \
	hsm/objects.c \
	hsm/keys.c \
	hsm/import.c \
	hsm/csr.c \
	hsm/sign.c \
	hsm/data.c \
	$(NULL)
libhsm_a_CFLAGS = $(AM_CFLAGS) $(P11KIT_CFLAGS)

HSM_TEST_LDADD = libhsm.a libcommon.a $(OPENSSL_LIBS) $(P11KIT_LIBS) $(CMOCKA_LIBS)
HSM_TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)

check_PROGRAMS += tests/unit/test_uri
TESTS += tests/unit/test_uri
tests_unit_test_uri_SOURCES = tests/unit/test_uri.c
tests_unit_test_uri_CFLAGS = $(HSM_TEST_CFLAGS)
tests_unit_test_uri_LDADD = $(HSM_TEST_LDADD)

HSM_TEST_SOURCES = tests/hsm/hsmtest.c tests/hsm/hsmtest.h \
	tests/lib/testtoken.c tests/lib/testtoken.h

check_PROGRAMS += tests/hsm/test_hsm_open
TESTS += tests/hsm/test_hsm_open
tests_hsm_test_hsm_open_SOURCES = tests/hsm/test_hsm_open.c $(HSM_TEST_SOURCES)
tests_hsm_test_hsm_open_CFLAGS = $(HSM_TEST_CFLAGS)
tests_hsm_test_hsm_open_LDADD = $(HSM_TEST_LDADD)

check_PROGRAMS += tests/hsm/test_hsm_keys
TESTS += tests/hsm/test_hsm_keys
tests_hsm_test_hsm_keys_SOURCES = tests/hsm/test_hsm_keys.c $(HSM_TEST_SOURCES)
tests_hsm_test_hsm_keys_CFLAGS = $(HSM_TEST_CFLAGS)
tests_hsm_test_hsm_keys_LDADD = $(HSM_TEST_LDADD)

check_PROGRAMS += tests/hsm/test_hsm_sign
TESTS += tests/hsm/test_hsm_sign
tests_hsm_test_hsm_sign_SOURCES = tests/hsm/test_hsm_sign.c $(HSM_TEST_SOURCES)
tests_hsm_test_hsm_sign_CFLAGS = $(HSM_TEST_CFLAGS)
tests_hsm_test_hsm_sign_LDADD = $(HSM_TEST_LDADD)

check_PROGRAMS += tests/hsm/test_hsm_data
TESTS += tests/hsm/test_hsm_data
tests_hsm_test_hsm_data_SOURCES = tests/hsm/test_hsm_data.c $(HSM_TEST_SOURCES)
tests_hsm_test_hsm_data_CFLAGS = $(HSM_TEST_CFLAGS)
tests_hsm_test_hsm_data_LDADD = $(HSM_TEST_LDADD)

# Recovery needs the fault-injecting wrapper module (tests/lib/p11wrap.mk).
check_PROGRAMS += tests/hsm/test_hsm_recovery
TESTS += tests/hsm/test_hsm_recovery
tests_hsm_test_hsm_recovery_SOURCES = tests/hsm/test_hsm_recovery.c $(HSM_TEST_SOURCES)
tests_hsm_test_hsm_recovery_CFLAGS = $(HSM_TEST_CFLAGS)
tests_hsm_test_hsm_recovery_LDADD = $(HSM_TEST_LDADD)
