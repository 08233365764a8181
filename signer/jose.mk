# signer/jose.c with its unit tests.
#
libsigner_a_SOURCES += signer/jose.c signer/jose.h

JOSE_TEST_LIBS = libsigner.a libcommon.a $(JANSSON_LIBS) $(OPENSSL_LIBS) $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_jose tests/unit/test_jose_adversarial
TESTS += tests/unit/test_jose tests/unit/test_jose_adversarial
tests_unit_test_jose_SOURCES = \
	tests/unit/test_jose.c \
	tests/unit/jose_testkeys.c tests/unit/jose_testkeys.h \
	$(NULL)
tests_unit_test_jose_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_jose_LDADD = $(JOSE_TEST_LIBS)
tests_unit_test_jose_adversarial_SOURCES = \
	tests/unit/test_jose_adversarial.c \
	tests/unit/jose_testkeys.c tests/unit/jose_testkeys.h \
	$(NULL)
tests_unit_test_jose_adversarial_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_jose_adversarial_LDADD = $(JOSE_TEST_LIBS)

EXTRA_DIST += tests/integration/forge.py
