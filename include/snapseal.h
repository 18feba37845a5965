/*
 * snapseal: encrypted, snapshot-based, incremental backups.
 *
 * Public constants shared by the library and the command line: error codes
 * and format versions.  Library functions return 0 on success or one of the
 * negative SS_E* codes below; a human-readable detail naming the object
 * involved is available from ss_errmsg() (see lib/util/util.h).
 */
#ifndef SNAPSEAL_H
#define SNAPSEAL_H

#define SNAPSEAL_VERSION "0.1.0"

/*
 * Error codes.  "The data is bad" (SS_ECORRUPT, SS_EAUTH) is kept apart
 * from "the system failed" (SS_EIO, SS_ENOMEM, SS_ENOSPC): the first means a
 * backup is damaged or was tampered with, the second means retry.
 */
enum ss_err {
	SS_OK = 0,
	SS_ENOMEM = -1,		/* out of memory */
	SS_EIO = -2,		/* an I/O or system call failed (errno kept) */
	SS_EINVAL = -3,		/* invalid argument, name or property value */
	SS_ENOENT = -4,		/* no such pool, dataset, snapshot or object */
	SS_EEXIST = -5,		/* already exists */
	SS_ECORRUPT = -6,	/* stored or received data is malformed */
	SS_EAUTH = -7,		/* authentication failed: tampered or wrong key */
	SS_ENOKEY = -8,		/* key not loaded */
	SS_EBUSY = -9,		/* locked or in use */
	SS_ENOSPC = -10,	/* no space left on device */
	SS_ERANGE = -11,	/* a length or count is out of bounds */
	SS_ENOTSUP = -12,	/* unsupported format version or feature */
	SS_ECHANGED = -13,	/* a file changed while it was being read */
	SS_EPERM = -14,		/* operation not permitted */
	SS_EWRONGKEY = -15	/* the key given does not unwrap the master key */
};

#endif /* SNAPSEAL_H */
