/* SVG timeline of the rolls.  See timeline_svg.h. */
#include "config.h"

#include "signer/timeline_svg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/memstream.h"
#include "common/util.h"

#define W 1100
#define PLOT_X0 250
#define PLOT_X1 1070
#define ROW_H 30
#define ROW_GAP 10
#define LABEL_LEVELS_MAX 8
#define LABEL_W 150 /* width of a label (name or "YYYY-MM-DD hh:mm:ssZ") */
#define LABEL_H 28
#define MAX_MARKS 8

typedef struct mark {
	p11s_time t;
	const char *name;
	const char *color;
} mark;

typedef struct axis {
	p11s_time t0, t1;
} axis;

static double
xof(const axis *a, p11s_time t)
{
	if (t <= a->t0)
		return PLOT_X0;
	if (t >= a->t1)
		return PLOT_X1;
	return PLOT_X0 + (double)(t - a->t0) * (PLOT_X1 - PLOT_X0) / (double)(a->t1 - a->t0);
}

/* Text from the configuration (type names) is escaped for XML. */
static void
put_escaped(FILE *f, const char *s)
{
	for (; *s != '\0'; s++)
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			fputc(*s, f);
		}
}

static void
utc(p11s_time t, char *buf, size_t n)
{
	char tmp[32], *p;

	p11s_fmt_utc(t, tmp, sizeof(tmp));
	/* 2026-11-30T00:28:03Z -> 2026-11-30 00:28:03Z */
	if ((p = strchr(tmp, 'T')) != NULL)
		*p = ' ';
	snprintf(buf, n, "%s", tmp);
}

static void
bar(FILE *f, const axis *a, double y, p11s_time from, p11s_time to, const char *fill,
    const char *stroke, const char *text)
{
	double x0 = xof(a, from), x1 = xof(a, to);
	char f0[32], f1[32];

	if (to <= a->t0 || from >= a->t1 || to <= from)
		return;
	if (x1 - x0 < 3)
		x1 = x0 + 3; /* a short span stays visible */
	utc(from, f0, sizeof(f0));
	utc(to, f1, sizeof(f1));
	fprintf(f,
		"<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" rx=\"4\" fill=\"%s\" "
		"stroke=\"%s\"><title>%s: %s to %s</title></rect>\n",
		x0, y, x1 - x0, ROW_H, fill, stroke, text != NULL ? text : "", f0, f1);
	if (text != NULL && x1 - x0 > 8.0 * (double)strlen(text))
		fprintf(
		    f,
		    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" class=\"bar\">%s</text>\n",
		    (x0 + x1) / 2, y + ROW_H / 2.0 + 5, text);
}

static void
row_label(FILE *f, double y, const char *role, const pol_key *k)
{
	char nb[32], na[32];

	utc(k->not_before, nb, sizeof(nb));
	utc(k->not_after, na, sizeof(na));
	fprintf(f,
		"<text x=\"12\" y=\"%.1f\" class=\"role\">%s key %.12s</text>\n"
		"<text x=\"12\" y=\"%.1f\" class=\"small\">cert %.10s .. %.10s</text>\n",
		y + 12, role, k->sha1, y + 27, nb, na);
}

static void
add_mark(mark *m, size_t *n, p11s_time t, const char *name, const char *color)
{
	if (t != 0 && *n < MAX_MARKS) {
		m[*n].t = t;
		m[*n].name = name;
		m[*n].color = color;
		(*n)++;
	}
}

static int
mark_cmp(const void *a, const void *b)
{
	const mark *x = a, *y = b;

	return x->t < y->t ? -1 : x->t > y->t;
}

/* One type's band, from y; returns its height. */
static double
type_band(FILE *f, const pol_conf *c, const pol_state *s, const pol_type_conf *tc,
	  const pol_timeline *tl, p11s_time now, double y)
{
	mark m[MAX_MARKS];
	size_t n = 0, i;
	axis a;
	p11s_time lo, hi, deadline = pol_roll_deadline(c, s, tc->name, now);
	double rows_y, ry, bottom, level_end[LABEL_LEVELS_MAX];
	int level[MAX_MARKS];
	size_t n_levels = 1;
	char when[32];

	add_mark(m, &n, now, "now", "#c0392b");
	if (tl->staged != NULL) {
		add_mark(m, &n, tl->staged_at, "staged", "#2471a3");
		add_mark(m, &n, tl->effective, "effective", "#1a5276");
		if (tl->current != NULL)
			add_mark(m, &n, tl->current->not_after, "current cert expires", "#7d3c98");
	} else if (deadline != 0 && tl->previous == NULL) {
		/* the deadline matters once the last roll is done with */
		add_mark(m, &n, deadline, "roll deadline", "#b9770e");
	}
	if (tl->previous != NULL) {
		add_mark(m, &n, tl->previous_until, "switch", "#1e8449");
		add_mark(m, &n, tl->previous_expiry, "old cert expires", "#7d3c98");
		add_mark(m, &n, tl->safe_removal, "safe removal", "#515a5a");
	}
	qsort(m, n, sizeof(*m), mark_cmp);
	lo = m[0].t;
	hi = m[n - 1].t;
	if (hi - lo < 60)
		hi = lo + 60;
	a.t0 = lo - (hi - lo) / 12 - 1;
	a.t1 = hi + (hi - lo) / 12 + 1;
	/* label levels: each label on the first level where it overlaps none */
	for (i = 0; i < LABEL_LEVELS_MAX; i++)
		level_end[i] = -1e9;
	for (i = 0; i < n; i++) {
		double x = xof(&a, m[i].t), x0;
		size_t l;

		x0 = x > PLOT_X1 - LABEL_W / 2 ? x - LABEL_W
					       : (x < PLOT_X0 + LABEL_W / 2 ? x : x - LABEL_W / 2);
		for (l = 0; l < LABEL_LEVELS_MAX - 1 && level_end[l] > x0; l++)
			;
		level[i] = (int)l;
		level_end[l] = x0 + LABEL_W + 6;
		if (l + 1 > n_levels)
			n_levels = l + 1;
	}
	rows_y = y + 34 + (double)n_levels * LABEL_H;

	fputs("<text x=\"12\" y=\"", f);
	fprintf(f, "%.1f\" class=\"type\">", y + 20);
	put_escaped(f, tc->name);
	fprintf(f, " (%s)</text>\n", p11s_alg_name(tc->alg));
	ry = rows_y;
	if (tl->previous != NULL) {
		row_label(f, ry, "previous", tl->previous);
		bar(f, &a, ry, a.t0, tl->previous_until, "#d5d8dc", "#909497", "issued");
		bar(f, &a, ry, tl->previous_until,
		    tl->safe_removal < tl->previous_expiry ? tl->safe_removal : tl->previous_expiry,
		    "#fdebd0", "#e59866", "verifies (overlap)");
		ry += ROW_H + ROW_GAP;
	}
	if (tl->current != NULL) {
		row_label(f, ry, "current", tl->current);
		bar(f, &a, ry, tl->current_since != 0 ? tl->current_since : a.t0,
		    tl->staged != NULL
			? tl->effective
			: (tl->current->not_after < a.t1 ? tl->current->not_after : a.t1),
		    "#abebc6", "#1e8449", "issues");
		if (tl->staged != NULL)
			bar(f, &a, ry, tl->effective,
			    tl->current->not_after < a.t1 ? tl->current->not_after : a.t1,
			    "#fdebd0", "#e59866", "verifies (overlap)");
		ry += ROW_H + ROW_GAP;
	}
	if (tl->staged != NULL) {
		row_label(f, ry, "staged", tl->staged);
		bar(f, &a, ry, tl->staged_at, tl->effective, "#d6eaf8", "#2471a3", "published");
		bar(f, &a, ry, tl->effective, a.t1, "#abebc6", "#1e8449", "issues");
		ry += ROW_H + ROW_GAP;
	}
	if (tl->current == NULL && tl->staged == NULL) {
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" class=\"role\">no key assigned</text>\n",
			PLOT_X0, ry + 20);
		ry += ROW_H + ROW_GAP;
	}
	bottom = ry;
	/* axis with its ends in UTC */
	fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#424949\"/>\n",
		PLOT_X0, bottom, PLOT_X1, bottom);
	utc(a.t0, when, sizeof(when));
	fprintf(f, "<text x=\"%d\" y=\"%.1f\" class=\"small\">%s</text>\n", PLOT_X0, bottom + 14,
		when);
	utc(a.t1, when, sizeof(when));
	fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" class=\"small\">%s</text>\n",
		PLOT_X1, bottom + 14, when);
	/* instants: a line through the rows, name and UTC time above, staggered */
	for (i = 0; i < n; i++) {
		double x = xof(&a, m[i].t), ty = y + 34 + (double)level[i] * LABEL_H;
		const char *anchor = x > PLOT_X1 - LABEL_W / 2
					 ? "end"
					 : (x < PLOT_X0 + LABEL_W / 2 ? "start" : "middle");

		utc(m[i].t, when, sizeof(when));
		fprintf(f,
			"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
			"stroke-width=\"2\"%s/>\n"
			"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" fill=\"%s\" "
			"class=\"mark\">%s</text>\n"
			"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" fill=\"%s\" "
			"class=\"small\">%s</text>\n",
			x, ty + 16, x, bottom, m[i].color,
			strcmp(m[i].name, "now") == 0 ? "" : " stroke-dasharray=\"5,3\"", x, ty,
			anchor, m[i].color, m[i].name, x, ty + 12, anchor, m[i].color, when);
	}
	return bottom + 30 - y;
}

int
timeline_svg(const pol_conf *c, const pol_state *s, p11s_time now, char **out, size_t *len)
{
	char *buf = NULL, *body = NULL, when[32];
	size_t blen = 0, bodylen = 0, ti;
	double y = 50;
	FILE *f = NULL;
	int r = P11S_E_NOMEM;

	*out = NULL;
	*len = 0;
	if ((f = open_memstream(&body, &bodylen)) == NULL)
		goto out;
	for (ti = 0; ti < c->n_types; ti++) {
		pol_timeline tl;

		if ((r = pol_timeline_of(c, s, c->types[ti].name, now, &tl)) != 0)
			goto out;
		y += type_band(f, c, s, &c->types[ti], &tl, now, y) + 10;
	}
	if ((r = p11s_memstream_finish(&f, &body, &bodylen, NULL, NULL, "drawing the timeline")) !=
	    0)
		goto out;
	if ((f = open_memstream(&buf, &blen)) == NULL) {
		r = P11S_E_NOMEM;
		goto out;
	}
	utc(now, when, sizeof(when));
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\" "
		"viewBox=\"0 0 %d %.0f\" font-family=\"DejaVu Sans, Helvetica, Arial, "
		"sans-serif\">\n"
		"<title>p11-signer key rolls at %s</title>\n"
		"<style>.type{font-size:16px;font-weight:bold}.role{font-size:13px}"
		".small{font-size:10px;fill:#424949}.mark{font-size:11px;font-weight:bold}"
		"text{stroke:white;stroke-width:3px;paint-order:stroke}"
		".bar{font-size:12px;fill:#17202a}</style>\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
		"<text x=\"12\" y=\"28\" font-size=\"18\">Key rolls at %s (times in UTC)</text>\n",
		W, y, W, y, when, when);
	fwrite(body, 1, bodylen, f);
	fputs("</svg>\n", f);
	if ((r = p11s_memstream_finish(&f, &buf, &blen, out, len, "drawing the timeline")) != 0)
		goto out;
out:
	if (f != NULL)
		fclose(f);
	if (r == P11S_E_NOMEM)
		r = p11s_fail(P11S_E_NOMEM, "out of memory drawing the timeline");
	free(body);
	free(buf);
	return r;
}
