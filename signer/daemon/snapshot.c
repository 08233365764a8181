/* Reference-counted snapshots and their publication.  See d_world.h. */
#include "config.h"

#include "signer/daemon/snapshot.h"

#include <stdlib.h>

void
d_ref_get(d_ref *r)
{
	atomic_fetch_add_explicit(&r->n, 1, memory_order_relaxed);
}

void
d_ref_put(d_ref *r)
{
	if (r == NULL)
		return;
	if (atomic_fetch_sub_explicit(&r->n, 1, memory_order_acq_rel) == 1)
		r->destroy(r);
}

void
d_slot_init(d_slot *s)
{
	pthread_mutex_init(&s->mu, NULL);
	atomic_init(&s->gen, 0);
	s->obj = NULL;
}

void
d_slot_destroy(d_slot *s)
{
	d_ref_put(s->obj);
	s->obj = NULL;
	pthread_mutex_destroy(&s->mu);
}

void
d_slot_publish(d_slot *s, d_ref *obj)
{
	d_ref *old;

	pthread_mutex_lock(&s->mu);
	old = s->obj;
	s->obj = obj;
	atomic_fetch_add_explicit(&s->gen, 1, memory_order_release);
	pthread_mutex_unlock(&s->mu);
	d_ref_put(old);
}

d_ref *
d_slot_acquire(d_slot *s)
{
	d_ref *o;

	pthread_mutex_lock(&s->mu);
	o = s->obj;
	if (o != NULL)
		d_ref_get(o);
	pthread_mutex_unlock(&s->mu);
	return o;
}

d_ref *
d_slot_cached(d_slot *s, d_cache *c)
{
	unsigned gen = atomic_load_explicit(&s->gen, memory_order_acquire);

	if (gen != c->gen || c->obj == NULL) {
		d_ref *old = c->obj;

		pthread_mutex_lock(&s->mu);
		c->obj = s->obj;
		if (c->obj != NULL)
			d_ref_get(c->obj);
		c->gen = atomic_load_explicit(&s->gen, memory_order_relaxed);
		pthread_mutex_unlock(&s->mu);
		d_ref_put(old);
	}
	return c->obj;
}

void
d_cache_release(d_cache *c)
{
	d_ref_put(c->obj);
	c->obj = NULL;
	c->gen = 0;
}

static void
settings_destroy(d_ref *r)
{
	d_settings *s = (d_settings *)r;

	signer_conf_free(s->conf);
	free(s);
}

int
d_settings_new(signer_conf *conf, d_settings **out)
{
	d_settings *s;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		signer_conf_free(conf);
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	}
	atomic_init(&s->ref.n, 1);
	s->ref.destroy = settings_destroy;
	s->conf = conf;
	*out = s;
	return 0;
}

static void
view_destroy(d_ref *r)
{
	d_view *v = (d_view *)r;

	tokens_keyset_free(v->ks);
	state_free(v->st);
	free(v);
}

int
d_view_new(signer_state *st, p11s_time now, d_view **out)
{
	d_view *v;
	int r;

	*out = NULL;
	v = calloc(1, sizeof(*v));
	if (v == NULL) {
		state_free(st);
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	}
	atomic_init(&v->ref.n, 1);
	v->ref.destroy = view_destroy;
	v->st = st;
	v->loaded_at = now;
	if ((r = tokens_keyset_new(st, &v->ks)) != 0) {
		view_destroy(&v->ref);
		return r;
	}
	*out = v;
	return 0;
}
