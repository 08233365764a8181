/*
 * What signerd's workers read on every request, published without a lock on
 * the request path:
 *   d_settings  the configuration (replaced on SIGHUP)
 *   d_view      a loaded state plus its parsed public keys (replaced when the
 *               poller sees a new state version)
 * Both are immutable and reference-counted.  A d_slot holds the newest one
 * and a generation number; each worker keeps a d_cache and takes the slot's
 * mutex only when the generation has moved (rarely), so requests touch one
 * atomic load.
 */
#ifndef P11S_SIGNER_D_WORLD_H
#define P11S_SIGNER_D_WORLD_H

#include <pthread.h>
#include <stdatomic.h>

#include "common/error.h"
#include "common/util.h"
#include "signer/conf.h"
#include "signer/state.h"
#include "signer/tokens.h"

typedef struct d_ref {
	atomic_uint n;
	void (*destroy)(struct d_ref *r);
} d_ref;

void d_ref_get(d_ref *r);
void d_ref_put(d_ref *r); /* NULL is fine */

typedef struct d_slot {
	pthread_mutex_t mu;
	atomic_uint gen;
	d_ref *obj;
} d_slot;

typedef struct d_cache {
	unsigned gen;
	d_ref *obj;
} d_cache;

void d_slot_init(d_slot *s);
void d_slot_destroy(d_slot *s);
/* Publish obj (the caller's reference moves into the slot). */
void d_slot_publish(d_slot *s, d_ref *obj);
/* A new reference to the newest object (d_ref_put it), or NULL. */
d_ref *d_slot_acquire(d_slot *s);
/* The newest object, borrowed: valid until the next call with this cache. */
d_ref *d_slot_cached(d_slot *s, d_cache *c);
void d_cache_release(d_cache *c);

typedef struct d_settings {
	d_ref ref;
	signer_conf *conf; /* owned */
} d_settings;

/* Takes ownership of conf (also on failure). */
P11S_MUST_CHECK int d_settings_new(signer_conf *conf, d_settings **out);

typedef struct d_view {
	d_ref ref;
	signer_state *st;  /* owned */
	tokens_keyset *ks; /* owned */
	p11s_time loaded_at;
} d_view;

/* Takes ownership of st (also on failure). */
P11S_MUST_CHECK int d_view_new(signer_state *st, p11s_time now, d_view **out);

#endif
