/*
 * rmeta.c: finishing restored entries, shared by the walker (restore.c)
 * and the workers (rjob.c, rwrite.c): owner, mode, extended attributes and
 * times; the rename from a temporary name; decoding file maps.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "tree/rwrite.h"

void
ss_rst_warn(struct ss_rctx *c, const char *what, const char *path)
{
	char *m = ss_asprintf("%s: %s", path, what);

	if (m && c->warn) {
		pthread_mutex_lock(&c->warnmu);
		c->warn(c->warnarg, m);
		pthread_mutex_unlock(&c->warnmu);
	}
	free(m);
}

void
ss_rst_tmpname(struct ss_rctx *c, char out[32])
{
	uint64_t n = atomic_fetch_add(&c->tmpseq, 1);

	snprintf(out, 32, ".snapseal-%016llx",
	    (unsigned long long)(c->tmpbase ^ n));
}

const char *
ss_rst_made_as(struct ss_rctx *c, const char *name, char tmp[32])
{
	if (c->staged)
		return name;
	ss_rst_tmpname(c, tmp);
	return tmp;
}

/* ---------- metadata ---------- */

static int
set_xattrs(struct ss_rctx *c, int fd, const char *path, const struct ss_ent *e)
{
	struct ss_rd rd;
	char name[256];

	ss_rd_init(&rd, e->xattrs, e->xattrslen);
	while (ss_rd_left(&rd) > 0) {
		size_t nl, vl;
		const uint8_t *n = ss_rd_str16(&rd, &nl);
		const uint8_t *v = ss_rd_str32(&rd, SS_XATTR_MAX, &vl);
		int rr;

		if (rd.err || nl == 0 || nl >= sizeof(name) ||
		    memchr(n, '\0', nl))
			return ss_err(SS_ECORRUPT, "bad extended attribute"
			    " list");
		memcpy(name, n, nl);
		name[nl] = '\0';
		rr = fd >= 0 ? fsetxattr(fd, name, v, vl, 0) :
		    lsetxattr(path, name, v, vl, 0);
		if (rr == 0)
			continue;
		if (errno == EPERM || errno == ENOTSUP || errno == EACCES) {
			char *m = ss_asprintf("cannot set extended attribute"
			    " %s", name);
			ss_rst_warn(c, m ? m : "cannot set extended attribute",
			    path);
			free(m);
			continue;
		}
		return ss_err_errno(SS_EIO, "cannot set extended attribute %s",
		    name);
	}
	return 0;
}

int
ss_rst_apply_meta(struct ss_rctx *c, int fd, int dirfd, const char *name,
    const char *path, const struct ss_ent *e)
{
	struct timespec ts[2];
	int rr, r;

	rr = fd >= 0 ? fchown(fd, e->uid, e->gid) :
	    fchownat(dirfd, name, e->uid, e->gid, AT_SYMLINK_NOFOLLOW);
	if (rr != 0 && !(errno == EPERM && c->euid != 0))
		return ss_err_errno(SS_EIO, "cannot set owner");
	if (e->type != SS_FT_LNK) {
		rr = fd >= 0 ? fchmod(fd, e->mode) :
		    fchmodat(dirfd, name, e->mode, 0);
		if (rr != 0)
			return ss_err_errno(SS_EIO, "cannot set mode");
	}
	if ((r = set_xattrs(c, fd, path, e)) != 0)
		return r;
	ts[0].tv_sec = ts[1].tv_sec = e->mtime_sec;
	ts[0].tv_nsec = ts[1].tv_nsec = e->mtime_nsec;
	rr = fd >= 0 ? futimens(fd, ts) :
	    utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
	if (rr != 0)
		return ss_err_errno(SS_EIO, "cannot set times");
	return 0;
}

int
ss_rst_place(const struct ss_rctx *c, int dirfd, const char *tmp,
    const char *name, const char *path)
{
	struct stat st;

	if (c->staged)
		return 0;	/* made under its name */
	if (c->sync) {
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode) && ss_rm_rf(path) != 0)
			return ss_err_errno(SS_EIO, "cannot remove directory");
		if (renameat(dirfd, tmp, dirfd, name) != 0)
			return ss_err_errno(ss_errno_code(errno), "cannot"
			    " rename");
		return 0;
	}
	if (renameat2(dirfd, tmp, dirfd, name, RENAME_NOREPLACE) != 0)
		return errno == EEXIST ? ss_err(SS_EEXIST, "already exists") :
		    ss_err_errno(ss_errno_code(errno), "cannot rename");
	return 0;
}

/* ---------- file maps ---------- */

int
ss_rst_filemap(const struct ss_buf *map, const struct ss_ent *e,
    struct ss_mext **out, uint32_t *nout)
{
	struct ss_rd rd;
	struct ss_mext *v;
	uint64_t end = 0;
	uint32_t n;
	uint8_t ver;
	size_t ext;

	*out = NULL;
	*nout = 0;
	ss_rd_init(&rd, map->p, map->len);
	ver = ss_rd_u8(&rd);
	if ((ver != SS_FILE_VERSION && ver != SS_FILE_VERSION_FP) ||
	    ss_rd_u64(&rd) != e->size)
		return ss_err(SS_ECORRUPT, "file map does not match its entry");
	ext = ss_filemap_extlen(ver);
	n = ss_rd_u32(&rd);
	if (rd.err || (uint64_t)n * ext != ss_rd_left(&rd) || n == 0)
		return ss_err(SS_ECORRUPT, "file map length is wrong");
	if ((v = ss_calloc(n, sizeof(*v))) == NULL)
		return SS_ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		v[i].off = ss_rd_u64(&rd);
		v[i].len = ss_rd_u32(&rd);
		memcpy(v[i].id.b, ss_rd_bytes(&rd, SS_ID_LEN), SS_ID_LEN);
		if ((v[i].hasfp = ver == SS_FILE_VERSION_FP))
			memcpy(v[i].fp, ss_rd_bytes(&rd, SS_FP_LEN), SS_FP_LEN);
		if (v[i].off < end || v[i].len == 0 || v[i].off > e->size ||
		    v[i].len > e->size - v[i].off) {
			free(v);
			return ss_err(SS_ECORRUPT, "file map extents overlap or"
			    " exceed the file size");
		}
		end = v[i].off + v[i].len;
	}
	*out = v;
	*nout = n;
	return 0;
}
