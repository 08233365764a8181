# tests/lib/p11wrap.so: fault-injecting PKCS#11 wrapper for tests (never
# installed), and its own test.  Usage: tests/lib/p11wrap.README.
# A check "program" that is really a shared object (no libtool in this tree).
check_PROGRAMS += tests/lib/p11wrap.so
tests_lib_p11wrap_so_SOURCES = tests/lib/p11wrap.c $(NULL)
tests_lib_p11wrap_so_CFLAGS = $(AM_CFLAGS) $(P11KIT_CFLAGS) -fPIC
tests_lib_p11wrap_so_LDFLAGS = -shared $(AM_LDFLAGS)
tests_lib_p11wrap_so_LDADD = -ldl

check_PROGRAMS += tests/hsm/test_p11wrap
TESTS += tests/hsm/test_p11wrap
tests_hsm_test_p11wrap_SOURCES = tests/hsm/test_p11wrap.c tests/lib/testtoken.h $(NULL)
tests_hsm_test_p11wrap_CFLAGS = $(AM_CFLAGS) $(P11KIT_CFLAGS) $(CMOCKA_CFLAGS)
tests_hsm_test_p11wrap_LDADD = tests/lib/libtestutil.a $(CMOCKA_LIBS) -ldl -lpthread

EXTRA_DIST += tests/lib/p11wrap.README
