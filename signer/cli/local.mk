# signer/cli/: the `signer` program of operators and custodians.
bin_PROGRAMS += signer/signer
signer_signer_SOURCES = \
	signer/cli/cli.c signer/cli/cli.h \
	signer/cli/cmd_keys.c \
	signer/cli/cmd_roll.c \
	signer/cli/cmd_jwt.c \
	signer/cli/cmd_custody.c \
	signer/cli/cmd_audit.c \
	signer/cli/cmd_pool.c \
	signer/cli/cmd_config.c \
	$(NULL)
signer_signer_CFLAGS = $(AM_CFLAGS) $(P11KIT_CFLAGS) $(CURL_CFLAGS)
signer_signer_LDADD = $(SIGNER_LIBS) $(SIGNER_DEPLIBS) $(CURL_LIBS)
