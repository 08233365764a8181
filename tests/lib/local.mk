# tests/lib/: helpers shared by the tests.

# Throwaway SoftHSM2 tokens for the C tests.
check_LIBRARIES = tests/lib/libtestutil.a
tests_lib_libtestutil_a_SOURCES = tests/lib/testtoken.c tests/lib/testtoken.h $(NULL)

# Reads and writes the state store directly (integration tests).
check_PROGRAMS += tests/lib/statetool
tests_lib_statetool_SOURCES = tests/lib/statetool.c
tests_lib_statetool_LDADD = $(SIGNER_LIBS) $(SIGNER_DEPLIBS)

# tests/lib/p11wrap.so: fault-injecting PKCS#11 wrapper for tests (never
# installed).  Usage: tests/lib/p11wrap.README.
# A check "program" that is really a shared object (no libtool in this tree).
check_PROGRAMS += tests/lib/p11wrap.so
tests_lib_p11wrap_so_SOURCES = tests/lib/p11wrap.c $(NULL)
tests_lib_p11wrap_so_CFLAGS = $(AM_CFLAGS) $(P11KIT_CFLAGS) -fPIC
tests_lib_p11wrap_so_LDFLAGS = -shared $(AM_LDFLAGS)
tests_lib_p11wrap_so_LDADD = -ldl

EXTRA_DIST += \
	tests/lib/common.sh \
	tests/lib/mini_ca.py \
	tests/lib/p11wrap.README \
	$(NULL)
