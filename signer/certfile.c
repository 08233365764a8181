#include "signer/certfile.h"
#include "common/error.h"
#include "common/util.h"
#include "config.h"
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <stdlib.h>

int
signer_cert_file_load(const char *path, X509 **out)
{
	const unsigned char *p;
	uint8_t *buf = NULL;
	size_t len = 0;
	BIO *b = NULL;
	int r;

	*out = NULL;
	if ((r = p11s_read_file(path, SIGNER_CERT_FILE_MAX, &buf, &len)) != 0)
		goto out;
	if ((b = BIO_new_mem_buf(buf, (int)len)) != NULL)
		*out = PEM_read_bio_X509(b, NULL, NULL, NULL);
	if (*out == NULL) {
		p = buf;
		*out = d2i_X509(NULL, &p, (long)len);
	}
	r = *out != NULL ? 0 : P11S_E_INVAL;
out:
	BIO_free(b);
	free(buf);
	return r;
}
