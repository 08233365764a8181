# signer/config.c and common/parse.c with their unit tests.
