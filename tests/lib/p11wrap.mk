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
tests_hsm_test_p11wrap_LDADD = tests/lib/libp11wrap_testtoken.a $(CMOCKA_LIBS) -ldl -lpthread

# tests/lib/testtoken.c does not build with the strict warning set yet
# (string literals in char *argv[], casts dropping const, snprintf into
# PATH_MAX buffers); it is compiled apart so that the code above keeps every
# warning.  Drop this library once testtoken.c is clean.
noinst_LIBRARIES += tests/lib/libp11wrap_testtoken.a
tests_lib_libp11wrap_testtoken_a_SOURCES = tests/lib/testtoken.c tests/lib/testtoken.h $(NULL)
tests_lib_libp11wrap_testtoken_a_CFLAGS = $(AM_CFLAGS) \
	-Wno-write-strings -Wno-cast-qual -Wno-format-truncation

EXTRA_DIST += tests/lib/p11wrap.README
