#include "signer/certfile.h"
#include "common/util.h"
#include "config.h"
#include "signer/keyfile.h"
#include <stdlib.h>

int
signer_cert_file_load(const char *path, X509 **out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	if ((r = p11s_read_file(path, SIGNER_CERT_FILE_MAX, &buf, &len)) != 0)
		goto out;
	r = keyfile_cert_parse(buf, len, path, out);
out:
	free(buf);
	return r;
}
