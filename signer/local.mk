# signer/: programs and glue.  libsigner.a itself is declared in config.mk.
libsigner_a_SOURCES += \
	signer/state.c signer/state.h \
	signer/tokens.c signer/tokens.h \
	$(NULL)

bin_PROGRAMS += signer/signer
signer_signer_SOURCES = \
	signer/cli.c signer/cli.h \
	signer/cmd_keys.c \
	signer/cmd_roll.c \
	signer/cmd_jwt.c \
	$(NULL)
signer_signer_CFLAGS = $(AM_CFLAGS) $(P11KIT_CFLAGS)
signer_signer_LDADD = $(SIGNER_LIBS) $(SIGNER_DEPLIBS)
