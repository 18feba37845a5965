/*
 * pool.c: names, the pool home, creating, opening, listing and destroying
 * pools.  Layout of a pool directory (docs/format.md):
 *
 *   snapseal-pool   marker: format line and guid; written last at create
 *   catalog.db      SQLite catalog (plus -wal/-shm)
 *   packs/XX/N.pack object packs (N: 16 hex digits)
 *   lock            flock(2): shared for readers, exclusive for writers
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "pool/pool.h"

#define MARKER "snapseal-pool"

/* ---------- names ---------- */

static int
comp_ok(const char *s, size_t n)
{
	if (n == 0 || (n == 1 && s[0] == '.') ||
	    (n == 2 && s[0] == '.' && s[1] == '.'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		    c == '.' || c == ':' || c == ' '))
			return 0;
	}
	return 1;
}

int
ss_name_check(const char *name, int what)
{
	const char *sep = strpbrk(name, "@#"), *p = name;
	size_t dslen = sep ? (size_t)(sep - name) : strlen(name);

	if (strlen(name) > SS_NAME_MAX)
		return ss_err(SS_EINVAL, "invalid name '%s': name is too long",
		    name);
	if (sep && strpbrk(sep + 1, "@#/"))
		return ss_err(SS_EINVAL, "invalid name '%s': invalid character"
		    " in name", name);
	if (!sep && !(what & SS_NAME_DS))
		return ss_err(SS_EINVAL, "invalid name '%s': expected a %s",
		    name, what & SS_NAME_SNAP ? "snapshot (ds@snap)" :
		    "bookmark (ds#mark)");
	if (sep && *sep == '@' && !(what & SS_NAME_SNAP))
		return ss_err(SS_EINVAL, "invalid name '%s': snapshot"
		    " delimiter '@' is not expected here", name);
	if (sep && *sep == '#' && !(what & SS_NAME_BOOKMARK))
		return ss_err(SS_EINVAL, "invalid name '%s': bookmark"
		    " delimiter '#' is not expected here", name);
	if (sep && !comp_ok(sep + 1, strlen(sep + 1)))
		return ss_err(SS_EINVAL, "invalid name '%s': empty or invalid"
		    " snapshot or bookmark name", name);
	while (p < name + dslen) {
		const char *e = memchr(p, '/', (size_t)(name + dslen - p));
		size_t n = e ? (size_t)(e - p) : (size_t)(name + dslen - p);

		if (!comp_ok(p, n) || (p == name && n && p[0] == '-'))
			return ss_err(SS_EINVAL, "invalid name '%s': empty"
			    " component or invalid character", name);
		p += n + (e ? 1 : 0);
		if (e && p == name + dslen)
			return ss_err(SS_EINVAL, "invalid name '%s': trailing"
			    " slash", name);
	}
	if (dslen == 0)
		return ss_err(SS_EINVAL, "invalid name '%s': empty dataset"
		    " name", name);
	return 0;
}

int
ss_name_pool(const char *name, char *out, size_t outlen)
{
	size_t n = strcspn(name, "/@#");

	if (n == 0 || n >= outlen)
		return ss_err(SS_EINVAL, "invalid name '%s'", name);
	memcpy(out, name, n);
	out[n] = '\0';
	return 0;
}

/* ---------- home and registry ---------- */

int
ss_pool_home(char **home)
{
	const char *h = getenv("SNAPSEAL_HOME");

	if (h && *h)
		*home = ss_strdup(h);
	else if (geteuid() == 0)
		*home = ss_strdup("/var/lib/snapseal");
	else if ((h = getenv("HOME")) && *h)
		*home = ss_asprintf("%s/.local/share/snapseal", h);
	else
		return ss_err(SS_EINVAL, "set SNAPSEAL_HOME or HOME");
	return *home ? 0 : SS_ENOMEM;
}

static int
pool_name_ok(const char *name)
{
	if (!comp_ok(name, strlen(name)) || strchr(name, ' ') ||
	    strchr(name, ':') || strlen(name) > 200 ||
	    !((name[0] >= 'a' && name[0] <= 'z') ||
	    (name[0] >= 'A' && name[0] <= 'Z')))
		return ss_err(SS_EINVAL, "invalid pool name '%s'", name);
	return 0;
}

static int
pool_path(const char *name, char **path)
{
	char *home = NULL;
	int r;

	if ((r = pool_name_ok(name)) != 0)
		return r;
	if ((r = ss_pool_home(&home)) != 0)
		return r;
	*path = ss_path_join(home, name);
	free(home);
	return *path ? 0 : SS_ENOMEM;
}

void
ss_strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
ss_pool_names(char ***names, size_t *n)
{
	char *home = NULL, **v = NULL, **nv;
	size_t cnt = 0;
	DIR *d;
	struct dirent *de;
	int r;

	*names = NULL;
	*n = 0;
	if ((r = ss_pool_home(&home)) != 0)
		return r;
	if ((d = opendir(home)) == NULL) {
		r = errno == ENOENT ? 0 : ss_err_errno(SS_EIO,
		    "cannot read '%s'", home);
		free(home);
		return r;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || pool_name_ok(de->d_name) != 0)
			continue;
		if ((nv = ss_realloc(v, (cnt + 1) * sizeof(*v))) != NULL)
			v = nv;
		if (nv == NULL || (v[cnt] = ss_strdup(de->d_name)) == NULL) {
			ss_strv_free(v, cnt);
			closedir(d);
			free(home);
			return SS_ENOMEM;
		}
		cnt++;
	}
	closedir(d);
	free(home);
	ss_errclear();
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), cmp_str);
	*names = v;
	*n = cnt;
	return 0;
}

/* ---------- create ---------- */

static int
write_marker(const char *dir, uint64_t guid)
{
	char buf[128], *path = ss_path_join(dir, MARKER);
	int n, r;

	if (path == NULL)
		return SS_ENOMEM;
	n = snprintf(buf, sizeof(buf), "%s\nguid=%016llx\n", SS_POOL_FORMAT,
	    (unsigned long long)guid);
	r = ss_write_file_atomic(path, buf, (size_t)n, 0644);
	free(path);
	return r;
}

/* new_resume_key(cat): the pool's secret for resume-token tags (send.c). */
static int
new_resume_key(struct ss_cat *cat)
{
	uint8_t k[SS_KEY_LEN];
	char hex[2 * SS_KEY_LEN + 1];
	int r;

	if ((r = ss_rand(k, sizeof(k))) != 0)
		return r;
	ss_hex_encode(k, sizeof(k), hex);
	r = ss_cat_meta_set(cat, SS_META_RESUME_KEY, hex);
	ss_cleanse(k, sizeof(k));
	ss_cleanse(hex, sizeof(hex));
	return r;
}

static int
init_catalog(const char *dir, const char *name, uint64_t guid,
    const char *mountpoint)
{
	struct ss_cat *cat = NULL;
	struct ss_ds ds;
	char *path = ss_path_join(dir, "catalog.db"), buf[32];
	uint64_t txg;
	int r;

	if (path == NULL)
		return SS_ENOMEM;
	if ((r = ss_cat_open(path, 1, &cat)) != 0)
		goto out;
	if ((r = ss_cat_begin(cat)) != 0)
		goto out;
	snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)guid);
	if ((r = ss_cat_meta_set(cat, "format", "1")) != 0 ||
	    (r = ss_cat_meta_set(cat, "name", name)) != 0 ||
	    (r = ss_cat_meta_set(cat, "guid", buf)) != 0 ||
	    (r = new_resume_key(cat)) != 0 ||
	    (r = ss_cat_next_txg(cat, &txg)) != 0)
		goto out;
	memset(&ds, 0, sizeof(ds));
	ds.name = (char *)name;
	ds.guid = ss_random_u64();
	ds.creation = ss_now_ns() / 1000000000;
	ds.createtxg = txg;
	ds.kind = SS_DS_CREATED;
	if ((r = ss_cat_ds_add(cat, &ds)) != 0)
		goto out;
	if (mountpoint && (r = ss_cat_prop_set(cat, ds.id, "mountpoint",
	    SS_SRC_LOCAL, mountpoint)) != 0)
		goto out;
	r = ss_cat_commit(cat);
out:
	if (r != 0 && cat)
		ss_cat_rollback(cat);
	ss_cat_close(cat);
	free(path);
	return r;
}

static int
make_pool_dir(const char *dir)
{
	char *packs;
	DIR *d;
	int r = 0;

	if (mkdir(dir, 0700) != 0) {
		if (errno != EEXIST)
			return ss_err_errno(ss_errno_code(errno),
			    "cannot create '%s'", dir);
		if ((d = opendir(dir)) == NULL)
			return ss_err_errno(SS_EIO, "cannot open '%s'", dir);
		for (struct dirent *de; (de = readdir(d)) != NULL;)
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				r = ss_err(SS_EEXIST, "'%s' is not empty", dir);
		closedir(d);
		if (r)
			return r;
	}
	if ((packs = ss_path_join(dir, "packs")) == NULL)
		return SS_ENOMEM;
	if (mkdir(packs, 0700) != 0 && errno != EEXIST)
		r = ss_err_errno(SS_EIO, "cannot create '%s'", packs);
	free(packs);
	return r;
}

int
ss_pool_create(const char *name, const char *dir, const char *mountpoint,
    struct ss_pool **out)
{
	char *link = NULL, *home = NULL, *abs = NULL, *mp = NULL;
	uint64_t guid = ss_random_u64();
	int r;

	*out = NULL;
	if ((r = pool_path(name, &link)) != 0)
		return r;
	if ((r = ss_pool_home(&home)) != 0 || (r = ss_mkdir_p(home, 0700)))
		goto out;
	if (mountpoint && mountpoint[0] != '/' && strcmp(mountpoint, "none")) {
		r = ss_err(SS_EINVAL, "mountpoint '%s' must be an absolute"
		    " path or 'none'", mountpoint);
		goto out;
	}
	if (access(link, F_OK) == 0 || errno != ENOENT) {
		r = ss_err(SS_EEXIST, "pool '%s' already exists", name);
		goto out;
	}
	if (dir) {
		if ((r = make_pool_dir(dir)) != 0)
			goto out;
		if ((abs = realpath(dir, NULL)) == NULL) {
			r = ss_err_errno(SS_EIO, "cannot resolve '%s'", dir);
			goto out;
		}
		if (symlink(abs, link) != 0) {
			r = errno == EEXIST ? ss_err(SS_EEXIST, "pool '%s'"
			    " already exists", name) : ss_err_errno(SS_EIO,
			    "cannot register pool '%s'", name);
			goto out;
		}
	} else {
		if (mkdir(link, 0700) != 0) {
			r = errno == EEXIST ? ss_err(SS_EEXIST, "pool '%s'"
			    " already exists", name) :
			    ss_err_errno(ss_errno_code(errno), "cannot create"
			    " '%s'", link);
			goto out;
		}
		if ((r = make_pool_dir(link)) != 0)
			goto out;
	}
	if (!mountpoint && (mp = ss_asprintf("/%s", name)) == NULL) {
		r = SS_ENOMEM;
		goto out;
	}
	if ((r = init_catalog(dir ? abs : link, name, guid,
	    mountpoint)) != 0)
		goto out;
	if ((r = write_marker(dir ? abs : link, guid)) != 0)
		goto out;
	if ((r = ss_fsync_parent(link)) != 0)
		goto out;
	r = ss_pool_open(name, SS_POOL_WRITE, out);
out:
	free(link);
	free(home);
	free(abs);
	free(mp);
	return r;
}

/* ---------- open ---------- */

static int
read_marker(const char *dir, const char *name, uint64_t *guid)
{
	struct ss_buf b = SS_BUF_INIT;
	char *path = ss_path_join(dir, MARKER), *s;
	size_t fl = strlen(SS_POOL_FORMAT);
	int r;

	if (path == NULL)
		return SS_ENOMEM;
	r = ss_read_file(path, 4096, &b);
	free(path);
	if (r == SS_ENOENT)
		return ss_err(SS_ECORRUPT, "pool '%s' is incomplete or damaged"
		    " (no marker file)", name);
	if (r != 0)
		return r;
	if (ss_buf_put_u8(&b, 0) != 0) {
		ss_buf_free(&b);
		return SS_ENOMEM;
	}
	s = (char *)b.p;
	if (strncmp(s, SS_POOL_FORMAT, fl) || s[fl] != '\n' ||
	    strncmp(s + fl + 1, "guid=", 5))
		r = ss_err(SS_ENOTSUP, "pool '%s' has an unknown format", name);
	else
		*guid = strtoull(s + fl + 6, NULL, 16);
	ss_buf_free(&b);
	return r;
}

static int
lock_pool(struct ss_pool *p, int write)
{
	char *path = ss_path_join(p->dir, "lock");

	if (path == NULL)
		return SS_ENOMEM;
	p->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (p->lockfd < 0 && !write)
		p->lockfd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (p->lockfd < 0)
		return ss_err_errno(ss_errno_code(errno), "cannot open the"
		    " lock of pool '%s'", p->name);
	if (flock(p->lockfd, write ? LOCK_EX : LOCK_SH) != 0)
		return ss_err_errno(SS_EBUSY, "cannot lock pool '%s'", p->name);
	return 0;
}

int
ss_pool_open(const char *name, int flags, struct ss_pool **out)
{
	struct ss_pool *p;
	char *link = NULL, *catpath = NULL, *g = NULL;
	uint64_t guid = 0;
	int r;

	*out = NULL;
	if ((r = pool_path(name, &link)) != 0)
		return r;
	if ((p = ss_calloc(1, sizeof(*p))) == NULL) {
		free(link);
		return SS_ENOMEM;
	}
	p->lockfd = -1;
	p->writable = (flags & SS_POOL_WRITE) != 0;
	if ((p->name = ss_strdup(name)) == NULL) {
		r = SS_ENOMEM;
		goto fail;
	}
	if ((p->dir = realpath(link, NULL)) == NULL) {
		r = errno == ENOENT ? ss_err(SS_ENOENT, "no such pool '%s'",
		    name) : ss_err_errno(SS_EIO, "cannot open pool '%s'", name);
		goto fail;
	}
	if ((r = read_marker(p->dir, name, &guid)) != 0)
		goto fail;
	if (!(flags & SS_POOL_NOLOCK) && (r = lock_pool(p, p->writable)) != 0)
		goto fail;
	if ((catpath = ss_path_join(p->dir, "catalog.db")) == NULL) {
		r = SS_ENOMEM;
		goto fail;
	}
	if ((r = ss_cat_open(catpath, 0, &p->cat)) != 0) {
		char *m = ss_strdup(ss_errmsg());

		r = ss_err(r == SS_ENOMEM ? r : SS_ECORRUPT, "pool '%s' is"
		    " incomplete or damaged: %s", name, m ? m : "");
		free(m);
		goto fail;
	}
	if ((r = ss_cat_meta_get(p->cat, "guid", &g)) != 0 ||
	    strtoull(g, NULL, 16) != guid) {
		r = ss_err(SS_ECORRUPT, "pool '%s': catalog does not match"
		    " the pool marker", name);
		goto fail;
	}
	p->guid = guid;
	free(g);
	free(link);
	free(catpath);
	*out = p;
	return 0;
fail:
	free(g);
	free(link);
	free(catpath);
	ss_pool_close(p);
	return r;
}

int
ss_pool_resume_key(struct ss_pool *p, uint8_t key[SS_KEY_LEN])
{
	char *hex = NULL;
	int r;

	r = ss_cat_meta_get(p->cat, SS_META_RESUME_KEY, &hex);
	if (r == SS_ENOENT) {
		/* a pool made before resume tags: make its secret now */
		if ((r = ss_cat_begin(p->cat)) != 0)
			return r;
		/* another first send may have made it meanwhile */
		if ((r = ss_cat_meta_get(p->cat, SS_META_RESUME_KEY, &hex)) ==
		    SS_ENOENT)
			r = new_resume_key(p->cat);
		free(hex);
		hex = NULL;
		if (r == 0)
			r = ss_cat_commit(p->cat);
		else
			ss_cat_rollback(p->cat);
		if (r == 0)
			r = ss_cat_meta_get(p->cat, SS_META_RESUME_KEY, &hex);
	}
	if (r == 0 && (strlen(hex) != 2 * SS_KEY_LEN ||
	    ss_hex_decode(hex, 2 * SS_KEY_LEN, key, SS_KEY_LEN) != 0))
		r = ss_err(SS_ECORRUPT, "pool '%s': invalid resume key",
		    p->name);
	if (hex)
		ss_cleanse(hex, strlen(hex));
	free(hex);
	return r;
}

int
ss_pool_lock(struct ss_pool *p)
{
	return p->lockfd >= 0 ? 0 : lock_pool(p, p->writable);
}

void
ss_pool_close(struct ss_pool *p)
{
	if (p == NULL)
		return;
	ss_packr_free(p->packr);
	ss_cat_close(p->cat);
	if (p->lockfd >= 0)
		close(p->lockfd);
	free(p->name);
	free(p->dir);
	free(p);
}

struct ss_packr *
ss_pool_packr(struct ss_pool *p)
{
	if (p->packr == NULL && ss_packr_open(p->dir, &p->packr) != 0)
		return NULL;
	return p->packr;
}

void
ss_pool_warn(struct ss_pool *p, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (p->warn)
		p->warn(p->warnarg, buf);
}

/* du_dir(path, &bytes): allocated bytes of a tree (st_blocks). */
static uint64_t
du_dir(const char *path)
{
	struct stat st;
	uint64_t total = 0;
	DIR *d;

	if (lstat(path, &st) != 0)
		return 0;
	total = (uint64_t)st.st_blocks * 512;
	if (!S_ISDIR(st.st_mode) || (d = opendir(path)) == NULL)
		return total;
	for (struct dirent *de; (de = readdir(d)) != NULL;) {
		char *c;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((c = ss_path_join(path, de->d_name)) != NULL)
			total += du_dir(c);
		free(c);
	}
	closedir(d);
	return total;
}

int
ss_pool_usage(struct ss_pool *p, uint64_t *size, uint64_t *alloc,
    uint64_t *avail)
{
	struct statvfs vfs;

	if (statvfs(p->dir, &vfs) != 0)
		return ss_err_errno(SS_EIO, "statvfs '%s'", p->dir);
	*alloc = du_dir(p->dir);
	*avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	*size = *alloc + *avail;
	return 0;
}

/* ---------- destroy ---------- */

static int
remove_pool_files(const char *dir)
{
	static const char *const names[] = {
		MARKER, "catalog.db", "catalog.db-wal", "catalog.db-shm",
		"catalog.db-journal", "lock",
	};
	char *path;
	int r = 0;

	/* the marker goes first: a half-removed pool is visibly incomplete */
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((path = ss_path_join(dir, names[i])) == NULL)
			return SS_ENOMEM;
		if (unlink(path) != 0 && errno != ENOENT)
			r = ss_err_errno(SS_EIO, "cannot remove '%s'", path);
		free(path);
		if (i == 0 && r == 0)
			ss_fsync_dir(dir);
	}
	if ((path = ss_path_join(dir, "packs")) == NULL)
		return SS_ENOMEM;
	if (r == 0)
		r = ss_rm_rf(path);
	free(path);
	if (r == 0 && rmdir(dir) != 0 && errno != ENOENT && errno != ENOTEMPTY)
		r = ss_err_errno(SS_EIO, "cannot remove '%s'", dir);
	return r;
}

int
ss_pool_destroy(const char *name, int force)
{
	struct ss_pool *p = NULL;
	struct ss_ds *v = NULL;
	char *link = NULL, *dir = NULL;
	struct stat lst;
	size_t n = 0, nsnap = 0;
	int r;

	if ((r = pool_path(name, &link)) != 0)
		return r;
	r = ss_pool_open(name, SS_POOL_WRITE, &p);
	if (r == 0) {
		if ((r = ss_cat_ds_list(p->cat, NULL, &v, &n)) != 0)
			goto out;
		for (size_t i = 0; i < n; i++) {
			struct ss_snap *s = NULL;
			size_t k = 0;

			if (ss_cat_snap_list(p->cat, v[i].id, SS_SNAP, &s,
			    &k) == 0)
				nsnap += k;
			ss_snap_list_free(s, k);
		}
		if (nsnap && !force) {
			r = ss_err(SS_EBUSY, "pool '%s' holds %zu snapshot%s;"
			    " use -f to destroy it", name, nsnap,
			    nsnap == 1 ? "" : "s");
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			char desc[64];

			ss_keyring_desc(p->guid, v[i].guid, desc);
			ss_keyring_del(desc);
		}
		ss_errclear();
	} else if (r != SS_ECORRUPT && r != SS_ENOTSUP)
		goto out;
	else if (!force)
		goto out;
	if ((dir = realpath(link, NULL)) == NULL) {
		r = ss_err_errno(SS_EIO, "cannot resolve pool '%s'", name);
		goto out;
	}
	ss_pool_close(p);
	p = NULL;
	if ((r = remove_pool_files(dir)) != 0)
		goto out;
	if (lstat(link, &lst) == 0 && S_ISLNK(lst.st_mode) && unlink(link) != 0)
		r = ss_err_errno(SS_EIO, "cannot unregister '%s'", link);
	else
		r = ss_fsync_parent(link);
out:
	ss_ds_list_free(v, n);
	ss_pool_close(p);
	free(link);
	free(dir);
	return r;
}
