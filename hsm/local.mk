# hsm/: the only code that talks PKCS#11; see hsm/hsm.h.
noinst_LIBRARIES += libhsm.a
libhsm_a_SOURCES = \
	hsm/hsm.h hsm/internal.h \
	hsm/rv.c \
	hsm/call.c \
	hsm/module.c \
	hsm/slot.c \
	hsm/session.c \
	hsm/token.c \
	hsm/uri.c \
	hsm/objects.c \
	hsm/keys.c \
	hsm/import.c \
	hsm/csr.c \
	hsm/sign.c \
	hsm/data.c \
	hsm/evp.c \
	$(NULL)
libhsm_a_CFLAGS = $(AM_CFLAGS) $(P11KIT_CFLAGS) $(LIBP11_CFLAGS)
