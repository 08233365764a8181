#include "config.h"

#include <string.h>

#include "common/alg.h"

static const struct {
	p11s_alg alg;
	const char *name;
} alg_names[] = {
    {P11S_ALG_ES256, "ES256"},
    {P11S_ALG_ES384, "ES384"},
    {P11S_ALG_RS256, "RS256"},
    {P11S_ALG_PS256, "PS256"},
};

const char *
p11s_alg_name(p11s_alg alg)
{
	for (size_t i = 0; i < sizeof(alg_names) / sizeof(alg_names[0]); i++)
		if (alg_names[i].alg == alg)
			return alg_names[i].name;
	return NULL;
}

p11s_alg
p11s_alg_parse(const char *name)
{
	if (name == NULL)
		return P11S_ALG_NONE;
	for (size_t i = 0; i < sizeof(alg_names) / sizeof(alg_names[0]); i++)
		if (strcmp(alg_names[i].name, name) == 0)
			return alg_names[i].alg;
	return P11S_ALG_NONE;
}

const char *
p11s_keytype_name(p11s_keytype kt)
{
	switch (kt) {
	case P11S_KT_EC_P256:
		return "EC P-256";
	case P11S_KT_EC_P384:
		return "EC P-384";
	case P11S_KT_RSA:
		return "RSA";
	default:
		return "unknown";
	}
}

int
p11s_alg_fits(p11s_alg alg, p11s_keytype kt, unsigned bits)
{
	switch (alg) {
	case P11S_ALG_ES256:
		return kt == P11S_KT_EC_P256;
	case P11S_ALG_ES384:
		return kt == P11S_KT_EC_P384;
	case P11S_ALG_RS256:
	case P11S_ALG_PS256:
		return kt == P11S_KT_RSA && bits >= 2048;
	default:
		return 0;
	}
}

size_t
p11s_alg_sig_len(p11s_alg alg, unsigned bits)
{
	switch (alg) {
	case P11S_ALG_ES256:
		return 64;
	case P11S_ALG_ES384:
		return 96;
	case P11S_ALG_RS256:
	case P11S_ALG_PS256:
		return (bits + 7) / 8;
	default:
		return 0;
	}
}

const char *
p11s_alg_needs(p11s_alg alg)
{
	switch (alg) {
	case P11S_ALG_ES256:
		return "an EC P-256 key";
	case P11S_ALG_ES384:
		return "an EC P-384 key";
	case P11S_ALG_RS256:
	case P11S_ALG_PS256:
		return "an RSA key of at least 2048 bits";
	case P11S_ALG_NONE:
		break;
	}
	return "a key of a supported type";
}

p11s_alg
p11s_alg_natural(p11s_keytype kt)
{
	switch (kt) {
	case P11S_KT_EC_P256:
		return P11S_ALG_ES256;
	case P11S_KT_EC_P384:
		return P11S_ALG_ES384;
	case P11S_KT_RSA:
		return P11S_ALG_RS256;
	default:
		return P11S_ALG_NONE;
	}
}
