/*
 * restore.c: write a snapshot tree back to a directory.
 *
 * Every object is authenticated (ss_obj_open) before any byte of it is
 * written.  A target that does not exist is written into a stage beside
 * it, renamed to it once all of it is on disk (see "the target, and its
 * stage" below).  Into an existing target, a file is written under a
 * temporary name in its final directory and renamed into place only when
 * its contents, owner, mode, extended attributes and times are set, so an
 * interrupted or refused restore leaves no half-written file under a real
 * name.  Directories are
 * opened with O_NOFOLLOW and entries are created relative to their
 * directory's descriptor, so nothing can be written outside the target
 * through a symlink; names are checked on decode ("/", ".", ".." refused).
 *
 * In SYNC mode (rollback) the target is made equal to the snapshot: extra
 * entries are deleted (except the "keep" paths, child mount points), files
 * whose inode, ctime, size and mtime show they were not touched since the
 * snapshot are left alone, and everything else is replaced.
 *
 * This file is the walker: it alone reads directory objects and the
 * catalog, creates directories, symlinks and special files, and decides
 * what to write; regular files are written by the worker threads of
 * rwrite.c and rjob.c, which also finish each directory once its entries
 * are placed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "tree/rwrite.h"

struct hlink {
	uint64_t group;
	char *rel;		/* its first link, from the target's top */
};

struct rctx {
	struct ss_tree *t;
	const struct ss_restore_opts *o;
	char **rel;		/* normalised filter paths */
	int *matched;
	size_t nrel;
	struct hlink *hl;
	size_t nhl;
	struct ss_buf chunk;
	int sync;
	int topfd;		/* the target (or its stage) */
	struct ss_rq *q;	/* the workers */
	struct ss_rctx *rx;	/* ... and what they share with the walker */
};


static const struct hlink *
hl_find(const struct rctx *rc, uint64_t group)
{
	for (size_t i = 0; i < rc->nhl; i++)
		if (rc->hl[i].group == group)
			return &rc->hl[i];
	return NULL;
}

static int
hl_add(struct rctx *rc, uint64_t group, const char *rel)
{
	struct hlink *v = ss_realloc(rc->hl, (rc->nhl + 1) * sizeof(*v));

	if (v == NULL)
		return SS_ENOMEM;
	rc->hl = v;
	if ((v[rc->nhl].rel = ss_strdup(rel)) == NULL)
		return SS_ENOMEM;
	v[rc->nhl++].group = group;
	return 0;
}

/*
 * untouched(st, e): the live file has the size, inode, mtime and ctime the
 * snapshot saw: it is the same file, untouched unless the entry is racy
 * (tree.h).
 */
static int
untouched(const struct stat *st, const struct ss_ent *e)
{
	return S_ISREG(st->st_mode) && e->type == SS_FT_REG &&
	    st->st_ino == e->ino && (uint64_t)st->st_size == e->size &&
	    st->st_ctim.tv_sec == e->ctime_sec &&
	    (uint32_t)st->st_ctim.tv_nsec == e->ctime_nsec &&
	    st->st_mtim.tv_sec == e->mtime_sec &&
	    (uint32_t)st->st_mtim.tv_nsec == e->mtime_nsec;
}

/*
 * live_data_inside(fd, size, v, n): every data region of the live file lies
 * inside the snapshot's extents (so its holes hold nothing).
 */
static int
live_data_inside(int fd, uint64_t size, const struct ss_mext *v, uint32_t n)
{
	uint64_t off = 0;
	uint32_t k = 0;

	while (off < size) {
		off_t d = lseek(fd, (off_t)off, SEEK_DATA), h;

		if (d < 0)
			return errno == ENXIO;
		if ((h = lseek(fd, d, SEEK_HOLE)) < 0)
			return 0;
		while (k < n && v[k].off + v[k].len <= (uint64_t)d)
			k++;
		/* [d, h) must be covered by consecutive extents from k */
		for (uint64_t pos = (uint64_t)d; pos < (uint64_t)h; k++) {
			if (k >= n || v[k].off > pos)
				return 0;
			pos = v[k].off + v[k].len;
		}
		off = (uint64_t)h;
		if (k > 0)
			k--;
	}
	return 1;
}

/* live_chunks_equal(rc, fd, v, n): each extent's bytes hash to its ID. */
static int
live_chunks_equal(struct rctx *rc, int fd, const struct ss_mext *v, uint32_t n)
{
	struct ss_id id;

	for (uint32_t i = 0; i < n; i++) {
		if (ss_buf_reserve(&rc->chunk, v[i].len) != 0 ||
		    ss_pread_all(fd, rc->chunk.p, v[i].len, v[i].off) != 0 ||
		    ss_obj_id(rc->t->oc, SS_OT_CHUNK, rc->chunk.p, v[i].len,
		    &id) != 0 || ss_id_cmp(&id, &v[i].id) != 0)
			return 0;
	}
	return 1;
}

/*
 * live_equal(rc, dirfd, name, st, e, same): SYNC mode.  The live file has
 * the snapshot's size, mtime, mode and owner: compare contents and xattrs
 * with the snapshot by reading only, so an equal file is kept.  Either it
 * is the same file (${same}: untouched, but its entry is racy), or not
 * (an earlier rollback rewrote it, or it was copied back), and then not
 * if it is hard-linked: its links may not be the snapshot's.
 */
static int
live_equal(struct rctx *rc, int dirfd, const char *name, const struct stat *st,
    const struct ss_ent *e, int same)
{
	struct ss_buf map = SS_BUF_INIT, xa = SS_BUF_INIT;
	struct ss_mext one, *v = NULL;
	uint32_t n = 0;
	int fd, eq = 0;

	if (!S_ISREG(st->st_mode) || e->type != SS_FT_REG ||
	    (e->hlgroup && !same) ||
	    (uint64_t)st->st_size != e->size ||
	    st->st_mtim.tv_sec != e->mtime_sec ||
	    (uint32_t)st->st_mtim.tv_nsec != e->mtime_nsec ||
	    (st->st_mode & 07777) != e->mode || st->st_uid != e->uid ||
	    st->st_gid != e->gid)
		return 0;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (ss_tree_read_xattrs(fd, NULL, &xa) != 0 || xa.len != e->xattrslen ||
	    (xa.len && memcmp(xa.p, e->xattrs, xa.len) != 0))
		goto out;
	if (e->ckind == SS_CK_INLINE) {
		eq = ss_buf_reserve(&map, (size_t)e->size) == 0 &&
		    ss_pread_all(fd, map.p, (size_t)e->size, 0) == 0 &&
		    memcmp(map.p, e->data, (size_t)e->size) == 0;
		goto out;
	}
	if (e->ckind == SS_CK_CHUNK) {
		one.off = 0;
		one.len = (uint32_t)e->size;
		one.id = e->cid;
		v = &one;
		n = 1;
	} else if (e->ckind == SS_CK_FILE &&
	    (ss_tree_load(rc->t, &e->cid, SS_OT_FILE, &map) != 0 ||
	    ss_rst_filemap(&map, e, &v, &n) != 0))
		goto out;
	eq = live_data_inside(fd, e->size, v, n) &&
	    live_chunks_equal(rc, fd, v, n);
out:
	ss_errclear();
	if (v != &one)
		free(v);
	ss_buf_wipe(&map);
	ss_buf_free(&xa);
	close(fd);
	return eq;
}

/*
 * placed(rc, dirfd, at, name, path, r): an entry made as ${at} and, with
 * ${r} 0, finished: placed at ${name}; on any error it is removed.
 */
static int
placed(struct rctx *rc, int dirfd, const char *at, const char *name,
    const char *path, int r)
{
	if (r == 0)
		r = ss_rst_place(rc->rx, dirfd, at, name, path);
	if (r != 0)
		unlinkat(dirfd, at, 0);
	return r;
}

/*
 * link_member(rc, dirfd, name, path, h): a later link of a hard-link
 * group, linked to the first through the target's descriptor.
 */
static int
link_member(struct rctx *rc, int dirfd, const char *name, const char *path,
    const struct hlink *h)
{
	char tmp[32];
	const char *at = ss_rst_made_as(rc->rx, name, tmp);

	if (linkat(rc->topfd, h->rel, dirfd, at, 0) != 0)
		return ss_err_errno(ss_errno_code(errno), "cannot link to %s",
		    h->rel);
	return placed(rc, dirfd, at, name, path, 0);
}

/*
 * restore_file(rc, d, name, path, rel, e): hand the file to the workers;
 * the first link of a hard-link group is written at once, so that the
 * later ones can be linked to it.
 */
static int
restore_file(struct rctx *rc, struct ss_rdir *d, const char *name,
    const char *path, const char *rel, const struct ss_ent *e)
{
	const struct hlink *h = e->hlgroup ? hl_find(rc, e->hlgroup) : NULL;
	int r;

	if (h) {
		if ((r = link_member(rc, d->fd, name, path, h)) == 0)
			ss_crashpoint("restore-file");
		return r;
	}
	if (!e->hlgroup)
		return ss_rq_file(rc->q, d, e, path, SS_RQ_ASYNC);
	if ((r = ss_rq_file(rc->q, d, e, path, SS_RQ_NOW)) != 0)
		return r;
	/* written and placed, unless a worker's error stopped it */
	if ((r = ss_rq_failed(rc->q)) != 0)
		return r;
	return hl_add(rc, e->hlgroup, rel);
}

static int
restore_special(struct rctx *rc, int dirfd, const char *name,
    const char *path, const char *rel, const struct ss_ent *e)
{
	const struct hlink *h = e->hlgroup ? hl_find(rc, e->hlgroup) : NULL;
	char tmp[32], *target = NULL, *tpath = NULL;
	const char *at;
	int rr, r;

	if (h)
		return link_member(rc, dirfd, name, path, h);
	at = ss_rst_made_as(rc->rx, name, tmp);
	if (e->type == SS_FT_LNK) {
		if ((target = ss_malloc(e->targetlen + 1)) == NULL)
			return SS_ENOMEM;
		memcpy(target, e->target, e->targetlen);
		target[e->targetlen] = '\0';
		rr = symlinkat(target, dirfd, at);
		free(target);
	} else {
		mode_t type = e->type == SS_FT_FIFO ? S_IFIFO :
		    e->type == SS_FT_CHR ? S_IFCHR : S_IFBLK;

		rr = mknodat(dirfd, at, type | 0600, (dev_t)e->rdev);
	}
	if (rr != 0) {
		if (errno == EPERM && e->type != SS_FT_LNK &&
		    e->type != SS_FT_FIFO) {
			ss_rst_warn(rc->rx, "skipping device node (not"
			    " permitted)", path);
			return 0;
		}
		return ss_err_errno(ss_errno_code(errno), "cannot create");
	}
	/* xattrs of a non-regular entry are set through /proc (short path) */
	tpath = ss_asprintf("/proc/self/fd/%d/%s", dirfd, at);
	r = tpath ? ss_rst_apply_meta(rc->rx, -1, dirfd, at, tpath, e) :
	    SS_ENOMEM;
	free(tpath);
	if ((r = placed(rc, dirfd, at, name, path, r)) == 0 && e->hlgroup)
		r = hl_add(rc, e->hlgroup, rel);
	return r;
}

/* ---------- path filters ---------- */

/* Selection of an entry by the PATH arguments. */
enum { SEL_NONE, SEL_PART, SEL_ALL };

static int
select_rel(struct rctx *rc, const char *rel)
{
	size_t rl = strlen(rel);
	int sel = SEL_NONE;

	for (size_t i = 0; i < rc->nrel; i++) {
		const char *f = rc->rel[i];
		size_t fl = strlen(f);

		if (fl <= rl && !strncmp(f, rel, fl) &&
		    (rel[fl] == '\0' || rel[fl] == '/')) {
			rc->matched[i] = 1;
			return SEL_ALL;
		}
		if (fl > rl && !strncmp(f, rel, rl) && f[rl] == '/')
			sel = SEL_PART;
	}
	return sel;
}

/*
 * normalise(p): "a//b/./c/" -> "a/b/c"; leading "/" dropped; NULL if the
 * path has a ".." component or is empty.
 */
static char *
normalise(const char *p)
{
	char *out = ss_malloc(strlen(p) + 1), *o = out;

	if (out == NULL)
		return NULL;
	while (*p) {
		const char *s = p;
		size_t n;

		while (*p && *p != '/')
			p++;
		n = (size_t)(p - s);
		if (*p)
			p++;
		if (n == 0 || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			free(out);
			return NULL;
		}
		if (o != out)
			*o++ = '/';
		memcpy(o, s, n);
		o += n;
	}
	*o = '\0';
	if (o == out) {
		free(out);
		return NULL;
	}
	return out;
}

/* ---------- directories ---------- */

static int restore_dir(struct rctx *rc, struct ss_rdir *d, const char *rel,
    const struct ss_id *id, int all);

static int
is_kept(const struct rctx *rc, const char *path)
{
	for (size_t i = 0; i < rc->o->nkeep; i++)
		if (!strcmp(rc->o->keep[i], path))
			return 1;
	return 0;
}

/*
 * enter_dir(rc, dirfd, name, &fd): make and open a directory to restore.
 * An existing directory is merged into; anything else in the way is an
 * error, or in SYNC mode removed.
 */
static int
enter_dir(struct rctx *rc, int dirfd, const char *name, int *fd)
{
	struct stat st;

	if (mkdirat(dirfd, name, 0700) != 0) {
		if (errno != EEXIST)
			return ss_err_errno(ss_errno_code(errno), "cannot"
			    " create directory");
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !S_ISDIR(st.st_mode)) {
			if (!rc->sync)
				return ss_err(SS_EEXIST, "already exists");
			if (unlinkat(dirfd, name, 0) != 0)
				return ss_err_errno(SS_EIO, "cannot remove");
			if (mkdirat(dirfd, name, 0700) != 0)
				return ss_err_errno(ss_errno_code(errno),
				    "cannot create directory");
		}
	}
	*fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (*fd < 0)
		return ss_err_errno(ss_errno_code(errno), "cannot open"
		    " directory");
	return 0;
}

/*
 * restore_subdir(rc, pd, name, path, rel, e, all): the directory's
 * metadata is applied by whoever places its last entry (rwrite.c), unless
 * the restore has failed by then.
 */
static int
restore_subdir(struct rctx *rc, struct ss_rdir *pd, const char *name,
    const char *path, const char *rel, const struct ss_ent *e, int all)
{
	struct ss_rdir *d;
	int fd = -1, r;

	if (rc->sync && is_kept(rc, path))
		return 0;
	if ((r = enter_dir(rc, pd->fd, name, &fd)) != 0 ||
	    (r = ss_rq_dir(rc->q, pd, fd, path, name, e, &d)) != 0)
		return ss_tree_path_err(r, path);
	r = restore_dir(rc, d, rel, &e->cid, all);
	/* recorded before the directory can be finished with its metadata */
	if (r != 0)
		ss_rq_fail(rc->q, r);
	ss_rq_dir_done(rc->q, d);
	return r;
}

/*
 * keep_live(rc, dirfd, name, st, e): SYNC mode, the live file ${st} equals
 * the snapshot's entry ${e}: untouched, and settled or equal; or equal.
 */
static int
keep_live(struct rctx *rc, int dirfd, const char *name, const struct stat *st,
    const struct ss_ent *e)
{
	if (untouched(st, e))
		return ss_ent_settled(e, rc->o->settled_ns) ||
		    live_equal(rc, dirfd, name, st, e, 1);
	return live_equal(rc, dirfd, name, st, e, 0);
}

static int
restore_entry(struct rctx *rc, struct ss_rdir *d, const char *path,
    const char *rel, const struct ss_ent *e, int all)
{
	char name[256];
	struct stat st;
	int r;

	memcpy(name, e->name, e->namelen);
	name[e->namelen] = '\0';
	if (e->type == SS_FT_DIR)
		return restore_subdir(rc, d, name, path, rel, e, all);
	if (rc->sync && fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    keep_live(rc, d->fd, name, &st, e)) {
		/* kept as is; later members of its link group link to it */
		if (e->hlgroup && !hl_find(rc, e->hlgroup))
			return hl_add(rc, e->hlgroup, rel);
		return 0;
	}
	if (rc->o->cb && (rc->o->flags & SS_TR_VERBOSE))
		rc->o->cb(rc->o->cbarg, path);
	r = e->type == SS_FT_REG ? restore_file(rc, d, name, path, rel, e) :
	    restore_special(rc, d->fd, name, path, rel, e);
	return r ? ss_tree_path_err(r, path) : 0;
}

/* remove_extras(rc, fd, path, d): SYNC mode, delete what the snapshot lacks. */
static int
remove_extras(struct rctx *rc, int fd, const char *path, const struct ss_dir *d)
{
	DIR *dir;
	struct dirent *de;
	int dfd = dup(fd), r = 0;

	if (dfd < 0 || (dir = fdopendir(dfd)) == NULL) {
		if (dfd >= 0)
			close(dfd);
		return ss_err_errno(SS_EIO, "%s: cannot read directory", path);
	}
	while (r == 0 && (de = readdir(dir)) != NULL) {
		char *full;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    ss_dir_find(d, de->d_name, strlen(de->d_name)))
			continue;
		if ((full = ss_path_join(path, de->d_name)) == NULL) {
			r = SS_ENOMEM;
			break;
		}
		if (!is_kept(rc, full)) {
			if (rc->o->cb && (rc->o->flags & SS_TR_VERBOSE))
				rc->o->cb(rc->o->cbarg, full);
			r = ss_rm_rf(full);
		}
		free(full);
	}
	closedir(dir);
	return r;
}

/*
 * restore_dir(rc, d, rel, id, all): load the directory object ${id} into
 * ${d} (the files handed to the workers borrow its entries) and restore
 * its entries; stops early once a worker has failed.
 */
static int
restore_dir(struct rctx *rc, struct ss_rdir *d, const char *rel,
    const struct ss_id *id, int all)
{
	char *cpath = NULL, *crel = NULL;
	int r;

	if ((r = ss_tree_load_dir(rc->t, id, &d->d)) != 0)
		return ss_tree_path_err(r, d->path);
	if (rc->sync && all && (r = remove_extras(rc, d->fd, d->path,
	    &d->d)) != 0)
		goto out;
	for (size_t i = 0; i < d->d.n && r == 0; i++) {
		const struct ss_ent *e = &d->d.ents[i];
		int sel = SEL_ALL;

		if (ss_rq_failed(rc->q))
			break;
		free(cpath);
		free(crel);
		cpath = ss_asprintf("%s/%.*s", d->path, (int)e->namelen,
		    e->name);
		crel = ss_asprintf("%s%s%.*s", rel, *rel ? "/" : "",
		    (int)e->namelen, e->name);
		if (cpath == NULL || crel == NULL) {
			r = SS_ENOMEM;
			break;
		}
		if (!all && (sel = select_rel(rc, crel)) == SEL_NONE)
			continue;
		if (sel == SEL_PART && e->type != SS_FT_DIR)
			continue;
		r = restore_entry(rc, d, cpath, crel, e, sel == SEL_ALL);
	}
	ss_rq_flush(rc->q);
out:
	free(cpath);
	free(crel);
	return r;
}

/*
 * path_in(t, dir, rel): 0 if the relative path ${rel} names an entry under
 * the directory object ${dir}; SS_ENOENT if not.
 */
static int
path_in(struct ss_tree *t, const struct ss_id *dir, const char *rel)
{
	struct ss_dir d;
	const struct ss_ent *e;
	size_t n = strcspn(rel, "/");
	int r;

	if ((r = ss_tree_load_dir(t, dir, &d)) != 0)
		return r;
	e = ss_dir_find(&d, rel, n);
	if (e == NULL)
		r = SS_ENOENT;
	else if (rel[n] == '/')
		r = e->type == SS_FT_DIR ? path_in(t, &e->cid, rel + n + 1) :
		    SS_ENOENT;
	ss_dir_free(&d);
	return r;
}

/* check_paths(rc, dir, o): every PATH exists before anything is written. */
static int
check_paths(struct rctx *rc, const struct ss_id *dir,
    const struct ss_restore_opts *o)
{
	int r;

	for (size_t i = 0; i < rc->nrel; i++) {
		r = path_in(rc->t, dir, rc->rel[i]);
		if (r == SS_ENOENT)
			return ss_err(SS_ENOENT, "'%s' is not in the snapshot",
			    o->paths[i]);
		if (r != 0)
			return r;
	}
	return 0;
}

static int
setup_filters(struct rctx *rc, const struct ss_restore_opts *o)
{
	if (o->npaths == 0)
		return 0;
	rc->rel = ss_calloc(o->npaths, sizeof(*rc->rel));
	rc->matched = ss_calloc(o->npaths, sizeof(*rc->matched));
	if (rc->rel == NULL || rc->matched == NULL)
		return SS_ENOMEM;
	for (size_t i = 0; i < o->npaths; i++) {
		if ((rc->rel[i] = normalise(o->paths[i])) == NULL)
			return ss_err(SS_EINVAL, "invalid path '%s'", o->paths[i]);
		rc->nrel++;
	}
	return 0;
}

/* ---------- the target, and its stage ---------- */

/*
 * A target that does not exist yet is restored into a stage: a new
 * directory beside it, named like a temporary (".snapseal-" and 16 hex
 * digits), in which every entry is made under its own name, and which is
 * renamed to the target once all of it is on disk.  The target then
 * appears whole or not at all, and no file needs a temporary name and a
 * rename of its own.  An existing target is restored into in place.
 */
struct stage {
	int pfd;		/* the target's parent; -1: no stage */
	int done;		/* renamed to the target */
	char *base;		/* the target's last component */
	char *parent;		/* ... and the rest, for messages */
	char name[32];		/* the stage's, in the parent */
};

/*
 * stage_open(target, sg, &fd): make and open the stage of the missing
 * ${target} (its parent made first, mkdir -p); 1 when its last component
 * cannot be renamed to ("." or "..").
 */
static int
stage_open(const char *target, struct stage *sg, int *fd)
{
	char *t = ss_strdup(target), *slash, *base;
	const char *parent;
	struct stat st;
	size_t n;
	int r = 0;

	if (t == NULL)
		return SS_ENOMEM;
	n = strlen(t);
	while (n > 1 && t[n - 1] == '/')
		t[--n] = '\0';
	slash = strrchr(t, '/');
	base = slash ? slash + 1 : t;
	if (*base == '\0' || !strcmp(base, ".") || !strcmp(base, "..")) {
		free(t);
		return 1;
	}
	if (slash == NULL)
		parent = ".";
	else if (slash == t)
		parent = "/";
	else {
		*slash = '\0';
		parent = t;
	}
	if ((lstat(parent, &st) != 0 && (r = ss_mkdir_p(parent, 0700)) != 0) ||
	    (sg->base = ss_strdup(base)) == NULL ||
	    (sg->parent = ss_strdup(parent)) == NULL) {
		r = r ? r : SS_ENOMEM;
		goto out;
	}
	if ((sg->pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = ss_err_errno(ss_errno_code(errno), "cannot open '%s'",
		    parent);
		goto out;
	}
	snprintf(sg->name, sizeof(sg->name), ".snapseal-%016llx",
	    (unsigned long long)ss_random_u64());
	if (mkdirat(sg->pfd, sg->name, 0700) != 0) {
		r = ss_err_errno(ss_errno_code(errno), "cannot create '%s'",
		    target);
		close(sg->pfd);
		sg->pfd = -1;
		goto out;
	}
	*fd = openat(sg->pfd, sg->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (*fd < 0)
		r = ss_err_errno(ss_errno_code(errno), "cannot open '%s'",
		    target);	/* stage_end removes the stage */
out:
	free(t);
	return r;
}

/*
 * stage_commit(sg, fd, target): everything in the stage on disk, then
 * the stage renamed to ${target} (which must still not exist), durably.
 */
static int
stage_commit(struct stage *sg, int fd, const char *target)
{
	int rr;

	if (syncfs(fd) != 0)
		return ss_err_errno(SS_EIO, "cannot sync '%s'", target);
	ss_crashpoint("restore-staged");
	rr = renameat2(sg->pfd, sg->name, sg->pfd, sg->base, RENAME_NOREPLACE);
	if (rr != 0 && (errno == EINVAL || errno == ENOSYS))
		/* no RENAME_NOREPLACE here: only an empty directory made
		 * meanwhile could be replaced */
		rr = renameat(sg->pfd, sg->name, sg->pfd, sg->base);
	if (rr != 0)
		return errno == EEXIST || errno == ENOTEMPTY ?
		    ss_err(SS_EEXIST, "'%s' appeared during the restore",
		    target) : ss_err_errno(ss_errno_code(errno),
		    "cannot rename the restore to '%s'", target);
	sg->done = 1;
	if (fsync(sg->pfd) != 0)
		return ss_err_errno(SS_EIO, "cannot sync the directory of"
		    " '%s'", target);
	return 0;
}

/*
 * stage_end(sg, target): a stage not renamed to the target is removed;
 * the restore's error stays the one reported, saying where the stage is
 * if it could not be removed (a directory of the snapshot without write
 * permission stops a user who is not root).
 */
static void
stage_end(struct stage *sg, const char *target)
{
	char *msg;

	if (sg->pfd >= 0 && !sg->done) {
		msg = ss_strdup(ss_errmsg());
		if (ss_rm_rf_at(sg->pfd, sg->name, target) != 0)
			(void)ss_err(SS_EIO, "%s (the partial restore is left in"
			    " '%s/%s')", msg ? msg : "", sg->parent, sg->name);
		else if (msg != NULL)
			(void)ss_err(SS_EIO, "%s", msg);
		free(msg);
	}
	if (sg->pfd >= 0)
		close(sg->pfd);
	free(sg->base);
	free(sg->parent);
}

/*
 * open_target(target, &fd, &created, sg): open TARGET, or the stage of a
 * missing one (then *created); when it has none, make it (mkdir -p).
 */
static int
open_target(const char *target, int *fd, int *created, struct stage *sg)
{
	struct stat st;
	int r;

	*created = 0;
	if (lstat(target, &st) != 0) {
		if (errno == ENOENT && (r = stage_open(target, sg, fd)) != 1) {
			*created = 1;
			return r;
		}
		if ((r = ss_mkdir_p(target, 0700)) != 0)
			return r;
		*created = 1;
	} else if (!S_ISDIR(st.st_mode))
		return ss_err(SS_EEXIST, "'%s' exists and is not a directory",
		    target);
	*fd = open(target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0)
		return ss_err_errno(ss_errno_code(errno), "cannot open '%s'",
		    target);
	return 0;
}

/*
 * restore_top(rc, fd, target, e, created): walk the snapshot into the open
 * target, wait for the workers, apply the "@" metadata.
 */
static int
restore_top(struct rctx *rc, int fd, const char *target,
    const struct ss_ent *e, int created)
{
	struct ss_rdir top;
	int r;

	ss_rq_top(rc->q, &top, fd, target);
	r = restore_dir(rc, &top, "", &e->cid, rc->nrel == 0);
	if (r != 0)
		ss_rq_fail(rc->q, r);
	ss_rq_dir_done(rc->q, &top);
	r = ss_rq_wait(rc->q);
	rc->t->bytes_read += ss_rq_bytes(rc->q);
	ss_dir_free(&top.d);
	for (size_t i = 0; i < rc->nrel && r == 0; i++)
		if (!rc->matched[i])
			r = ss_err(SS_ENOENT, "'%s' is not in the snapshot",
			    rc->o->paths[i]);
	if (r == 0 && rc->nrel == 0 && (created || rc->sync) &&
	    (r = ss_rst_apply_meta(rc->rx, fd, -1, NULL, target, e)) != 0)
		r = ss_tree_path_err(r, target);
	return r;
}

int
ss_tree_restore(struct ss_tree *t, const struct ss_id *root,
    const char *target, const struct ss_restore_opts *o)
{
	struct rctx rc;
	struct ss_dir top = { SS_BUF_INIT, NULL, 0 };
	struct stage sg = { -1, 0, NULL, NULL, "" };
	const struct ss_ent *e;
	int fd = -1, r, created = 0;

	memset(&rc, 0, sizeof(rc));
	rc.t = t;
	rc.o = o;
	rc.sync = (o->flags & SS_TR_SYNC) != 0;
	t->euid = (int)geteuid();
	/*
	 * one read transaction for the whole walk: the catalog lookups of
	 * every object would otherwise each take and drop SQLite's locks
	 * (two fcntl calls and an fstat per file)
	 */
	if ((r = setup_filters(&rc, o)) != 0 ||
	    (r = ss_cat_begin_read(t->cat)) != 0)
		goto out;
	if ((r = ss_tree_load_dir(t, root, &top)) != 0)
		goto out;
	if (top.n != 1 || (e = ss_dir_find(&top, "@", 1)) == NULL ||
	    e->type != SS_FT_DIR) {
		r = ss_err(SS_ECORRUPT, "snapshot root object is malformed");
		goto out;
	}
	if ((r = check_paths(&rc, &e->cid, o)) != 0 ||
	    (r = open_target(target, &fd, &created, &sg)) != 0 ||
	    (r = ss_rq_start(t, o, &rc.q)) != 0)
		goto out;
	rc.rx = ss_rq_ctx(rc.q);
	rc.topfd = fd;
	rc.rx->staged = sg.pfd >= 0;
	r = restore_top(&rc, fd, target, e, created);
out:
	ss_rq_free(rc.q);
	ss_cat_end_read(t->cat);
	if (fd >= 0) {
		/* everything restored reaches the disk before we say so */
		if (r == 0 && sg.pfd >= 0)
			r = stage_commit(&sg, fd, target);
		else if (r == 0 && syncfs(fd) != 0)
			r = ss_err_errno(SS_EIO, "cannot sync '%s'", target);
		close(fd);
	}
	stage_end(&sg, target);
	ss_dir_free(&top);
	for (size_t i = 0; i < rc.nrel; i++)
		free(rc.rel[i]);
	free(rc.rel);
	free(rc.matched);
	for (size_t i = 0; i < rc.nhl; i++)
		free(rc.hl[i].rel);
	free(rc.hl);
	ss_buf_wipe(&rc.chunk);
	return r;
}
