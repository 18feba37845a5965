/*
 * scrub.c: keyless verification of a pool.
 *
 * Every indexed object is read from its pack and its checksum and framing
 * checked (ss_obj_parse: no key needed); every reference an object makes
 * and every snapshot root must be in the index, and every bookmark's
 * object list must read back well-formed.  This is what a backup
 * server that never holds a key can prove: that what it stores is intact
 * and complete.  Whether the contents are authentic is the key holder's
 * check (restore).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool/pool.h"

struct scrub {
	struct ss_pool *p;
	struct ss_packr *pr;
	struct ss_buf obj;
	struct ss_scrub_stats *st;
	ss_scrub_cb cb;
	void *arg;
};

static void
report(struct scrub *s, const struct ss_id *id, const char *what)
{
	char hex[2 * SS_ID_LEN + 1], *m;

	s->st->errors++;
	ss_id_hex(id, hex);
	if (s->cb && (m = ss_asprintf("object %.16s: %s", hex, what)) != NULL) {
		s->cb(s->arg, m);
		free(m);
	}
}

static int
check_object(void *arg, const struct ss_id *id, const struct ss_objrow *row)
{
	struct scrub *s = arg;
	struct ss_objhdr h;
	int r;

	s->st->objects++;
	r = ss_packr_read(s->pr, id, &row->loc, &s->obj);
	if (r == 0)
		r = ss_obj_parse(id, s->obj.p, s->obj.len, &h);
	if (r == SS_ENOMEM)
		return r;
	if (r != 0) {
		report(s, id, ss_errmsg());
		ss_errclear();
		return 0;
	}
	s->st->bytes += s->obj.len;
	if (h.nrefs != row->nchild)
		report(s, id, "reference count in the index differs from the"
		    " object's");
	for (uint32_t i = 0; i < h.nrefs; i++) {
		struct ss_id c;

		memcpy(c.b, h.refs + (size_t)i * SS_ID_LEN, SS_ID_LEN);
		if ((r = ss_cat_obj_get(s->p->cat, &c, NULL)) == SS_ENOENT)
			report(s, id, "references an object missing from the"
			    " pool");
		else if (r != 0)
			return r;
	}
	return 0;
}

static void
report_snap(struct scrub *s, const char *ds, const struct ss_snap *sn,
    const char *what)
{
	char *m;

	s->st->errors++;
	if (s->cb && (m = ss_asprintf("%s %s%c%s: %s", sn->kind == SS_SNAP ?
	    "snapshot" : "bookmark", ds, sn->kind == SS_SNAP ? '@' : '#',
	    sn->name, what)) != NULL) {
		s->cb(s->arg, m);
		free(m);
	}
}

static int
ignore_id(void *arg, const struct ss_id *id)
{
	(void)arg;
	(void)id;
	return 0;
}

/* check_bookmark(s, ds, sn): its object list reads back well-formed. */
static int
check_bookmark(struct scrub *s, const char *ds, const struct ss_snap *sn)
{
	int r = ss_cat_bmids_each(s->p->cat, sn->id, ignore_id, NULL);

	if (r == SS_ENOENT)
		report_snap(s, ds, sn, "it has no object list");
	else if (r == SS_ECORRUPT)
		report_snap(s, ds, sn, ss_errmsg());
	else
		return r;
	ss_errclear();
	return 0;
}

static int
check_roots(struct scrub *s)
{
	struct ss_ds *v = NULL;
	size_t n = 0;
	int r;

	if ((r = ss_cat_ds_list(s->p->cat, NULL, &v, &n)) != 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct ss_snap *sn = NULL;
		size_t k = 0;

		if ((r = ss_cat_snap_list(s->p->cat, v[i].id, 0, &sn, &k)) != 0)
			break;
		for (size_t j = 0; j < k && r == 0; j++) {
			if (sn[j].kind == SS_BOOKMARK) {
				r = check_bookmark(s, v[i].name, &sn[j]);
				continue;
			}
			s->st->snapshots++;
			if (ss_cat_obj_get(s->p->cat, &sn[j].root, NULL) != 0)
				report_snap(s, v[i].name, &sn[j], "its root object"
				    " is missing");
		}
		ss_snap_list_free(sn, k);
	}
	ss_ds_list_free(v, n);
	return r;
}

int
ss_pool_scrub(struct ss_pool *p, struct ss_scrub_stats *st, ss_scrub_cb cb,
    void *arg)
{
	struct scrub s;
	int r;

	memset(st, 0, sizeof(*st));
	memset(&s, 0, sizeof(s));
	s.p = p;
	s.st = st;
	s.cb = cb;
	s.arg = arg;
	if ((s.pr = ss_pool_packr(p)) == NULL)
		return SS_ENOMEM;
	r = ss_cat_obj_each(p->cat, check_object, &s);
	if (r == 0)
		r = check_roots(&s);
	ss_buf_free(&s.obj);
	return r;
}
