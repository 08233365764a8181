# tests/: the harness shared by every test fragment (tests/*/local.mk).
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)

# Libraries in link order, for the tests of each layer.
TEST_COMMON_LIBS = libcommon.a $(OPENSSL_LIBS) $(CMOCKA_LIBS)
TEST_HSM_LIBS = libhsm.a libcommon.a $(OPENSSL_LIBS) $(P11KIT_LIBS) $(LIBP11_LIBS) $(CMOCKA_LIBS)
TEST_SIGNER_LIBS = $(SIGNER_LIBS) $(SIGNER_DEPLIBS) $(CMOCKA_LIBS)

EXTRA_DIST += \
	tests/lsan.supp \
	tests/data/conf/spec-example.conf \
	tests/data/conf/full.conf \
	tests/data/conf/empty.conf \
	$(NULL)
