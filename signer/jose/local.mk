# signer/jose/: JWS/JWT over a signing callback (depends on common/ only).
noinst_LIBRARIES += libjose.a
libjose_a_SOURCES = signer/jose/jose.c signer/jose/jose.h $(NULL)
