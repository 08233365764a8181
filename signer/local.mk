# signer/: programs and glue.
