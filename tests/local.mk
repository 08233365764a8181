# Test harness shared by every fragment.
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)

# Helpers shared by the C tests.
check_LIBRARIES = tests/lib/libtestutil.a
tests_lib_libtestutil_a_SOURCES = tests/lib/testtoken.c tests/lib/testtoken.h $(NULL)

EXTRA_DIST += tests/lib/common.sh tests/lib/mini_ca.py
