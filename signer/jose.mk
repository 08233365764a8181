# signer/jose.c with its unit tests.
