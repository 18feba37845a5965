/*
 * keyring: loaded master keys in the Linux kernel keyring.  The only file
 * in snapseal that includes <keyutils.h>.
 *
 * Keys are of type "user" in the user keyring (KEY_SPEC_USER_KEYRING),
 * which every process of the same uid shares: load-key in one process,
 * snapshot in the next.  Permissions: everything for the possessor, view/
 * read/write/search for the owning user, nothing for group and others.
 */
#include <errno.h>
#include <stdio.h>

#include <keyutils.h>

#include "keys/keys.h"

#define KEY_PERM (KEY_POS_ALL | KEY_USR_VIEW | KEY_USR_READ | \
    KEY_USR_SEARCH | KEY_USR_WRITE)

/* keyring_err(e, what, desc): map errno ${e} of operation ${what}. */
static int
keyring_err(int e, const char *what, const char *desc)
{
	switch (e) {
	case ENOKEY:
	case EKEYEXPIRED:
	case EKEYREVOKED:
		return ss_err(SS_ENOKEY, "key '%s' is not loaded", desc);
	case EACCES:
	case EPERM:
		return ss_err(SS_EPERM, "cannot %s key '%s': permission denied",
		    what, desc);
	case ENOSYS:
	case EOPNOTSUPP:
		return ss_err(SS_ENOTSUP, "cannot %s key '%s': the kernel "
		    "keyring is not available", what, desc);
	case ENOMEM:
		return ss_err(SS_ENOMEM, "cannot %s key '%s': out of memory",
		    what, desc);
	default:
		errno = e;
		return ss_err_errno(SS_EIO, "cannot %s key '%s'", what, desc);
	}
}

void
ss_keyring_desc(uint64_t pool_guid, uint64_t root_guid, char out[64])
{
	(void)snprintf(out, 64, "snapseal:%016llx:%016llx",
	    (unsigned long long)pool_guid, (unsigned long long)root_guid);
}

/*
 * ss_keyring_add(desc, mk): add_key updates a key of the same type and
 * description in place, so this replaces a loaded key.  If the permissions
 * cannot be restricted, the key is removed again and the error returned.
 */
int
ss_keyring_add(const char *desc, const uint8_t mk[SS_KEY_LEN])
{
	key_serial_t k;
	int r = 0;

	k = add_key("user", desc, mk, SS_KEY_LEN, KEY_SPEC_USER_KEYRING);
	if (k < 0)
		r = keyring_err(errno, "add", desc);
	else if (keyctl_setperm(k, KEY_PERM) < 0) {
		r = keyring_err(errno, "set the permissions of", desc);
		if (keyctl_invalidate(k) < 0)
			(void)keyctl_unlink(k, KEY_SPEC_USER_KEYRING);
	}
	return r;
}

static int
keyring_find(const char *desc, key_serial_t *k)
{
	long id;

	id = keyctl_search(KEY_SPEC_USER_KEYRING, "user", desc, 0);
	if (id < 0)
		return keyring_err(errno, "find", desc);
	*k = (key_serial_t)id;
	return 0;
}

/* ss_keyring_get(desc, mk): SS_ECORRUPT if the payload is not 32 bytes. */
int
ss_keyring_get(const char *desc, uint8_t mk[SS_KEY_LEN])
{
	key_serial_t k = 0;
	long n;
	int r;

	if ((r = keyring_find(desc, &k)) != 0)
		goto out;
	n = keyctl_read(k, (char *)mk, SS_KEY_LEN);
	if (n < 0)
		r = keyring_err(errno, "read", desc);
	else if (n != SS_KEY_LEN)
		r = ss_err(SS_ECORRUPT, "key '%s' in the kernel keyring has "
		    "%ld bytes, expected %d", desc, n, SS_KEY_LEN);
out:
	if (r != 0)
		ss_cleanse(mk, SS_KEY_LEN);
	return r;
}

/*
 * ss_keyring_del(desc): invalidate the key (it disappears at once for
 * every process); on kernels without KEYCTL_INVALIDATE, unlink it from the
 * user keyring.
 */
int
ss_keyring_del(const char *desc)
{
	key_serial_t k = 0;
	int r;

	if ((r = keyring_find(desc, &k)) != 0)
		return r;
	if (keyctl_invalidate(k) == 0)
		return 0;
	if (errno != ENOSYS && errno != EOPNOTSUPP)
		return keyring_err(errno, "remove", desc);
	if (keyctl_unlink(k, KEY_SPEC_USER_KEYRING) < 0)
		return keyring_err(errno, "remove", desc);
	return 0;
}
