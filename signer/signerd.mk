# signerd: the signer process (HTTP API over libevent, workers, state poller).
noinst_LIBRARIES += libsignerd.a
libsignerd_a_SOURCES = \
	signer/d_http.c signer/d_http.h \
	signer/d_metrics.c signer/d_metrics.h \
	signer/d_json.c signer/d_json.h \
	signer/d_world.c signer/d_world.h \
	signer/d_api.c signer/d_api.h \
	signer/d_poll.c signer/d_poll.h \
	$(NULL)
libsignerd_a_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(P11KIT_CFLAGS)

sbin_PROGRAMS += signer/signerd
signer_signerd_SOURCES = signer/signerd.c $(NULL)
signer_signerd_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(P11KIT_CFLAGS)
signer_signerd_LDADD = libsignerd.a $(SIGNER_LIBS) $(LIBEVENT_LIBS) $(SIGNER_DEPLIBS) -lpthread

# Unit tests of the pure pieces, and of the HTTP layer over real sockets.
check_PROGRAMS += tests/unit/test_d_json tests/unit/test_d_metrics tests/unit/test_d_http
TESTS += tests/unit/test_d_json tests/unit/test_d_metrics tests/unit/test_d_http

tests_unit_test_d_json_SOURCES = tests/unit/test_d_json.c $(NULL)
tests_unit_test_d_json_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_d_json_LDADD = libsignerd.a libcommon.a $(JANSSON_LIBS) $(OPENSSL_LIBS) $(CMOCKA_LIBS)

tests_unit_test_d_metrics_SOURCES = tests/unit/test_d_metrics.c $(NULL)
tests_unit_test_d_metrics_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_d_metrics_LDADD = libsignerd.a libcommon.a $(OPENSSL_LIBS) $(CMOCKA_LIBS) -lpthread

tests_unit_test_d_http_SOURCES = tests/unit/test_d_http.c $(NULL)
tests_unit_test_d_http_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(LIBEVENT_CFLAGS)
tests_unit_test_d_http_LDADD = libsignerd.a libcommon.a $(LIBEVENT_LIBS) $(JANSSON_LIBS) \
	$(OPENSSL_LIBS) $(CMOCKA_LIBS) -lpthread

dist_man_MANS += doc/signerd.8
EXTRA_DIST += dist/p11-signerd.service

# Integration tests: real signerd processes on throwaway SoftHSM2 tokens.
TESTS += \
	tests/integration/signerd_api.sh \
	tests/integration/signerd_rollover.sh \
	tests/integration/signerd_faults.sh \
	$(NULL)
EXTRA_DIST += \
	tests/integration/signerd_lib.sh \
	tests/integration/signerd_api.sh \
	tests/integration/signerd_rollover.sh \
	tests/integration/signerd_faults.sh \
	$(NULL)
