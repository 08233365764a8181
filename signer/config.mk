# signer/config.c and common/parse.c with their unit tests.
libcommon_a_SOURCES += common/parse.c common/parse.h

noinst_LIBRARIES += libsigner.a
libsigner_a_SOURCES = signer/config.c signer/config.h $(NULL)
libsigner_a_CFLAGS = $(AM_CFLAGS) $(INIH_CFLAGS) $(P11KIT_CFLAGS) $(LIBEVENT_CFLAGS)

check_PROGRAMS += tests/unit/test_parse tests/unit/test_config tests/unit/test_pin
TESTS += tests/unit/test_parse tests/unit/test_config tests/unit/test_pin

tests_unit_test_parse_SOURCES = tests/unit/test_parse.c
tests_unit_test_parse_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_parse_LDADD = libcommon.a $(OPENSSL_LIBS) $(CMOCKA_LIBS)

tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(INIH_CFLAGS)
tests_unit_test_config_LDADD = libsigner.a libcommon.a $(OPENSSL_LIBS) $(INIH_LIBS) $(CMOCKA_LIBS)

tests_unit_test_pin_SOURCES = tests/unit/test_pin.c
tests_unit_test_pin_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_pin_LDADD = libcommon.a $(OPENSSL_LIBS) $(CMOCKA_LIBS)

EXTRA_DIST += \
	tests/data/conf/spec-example.conf \
	tests/data/conf/full.conf \
	tests/data/conf/empty.conf \
	$(NULL)
