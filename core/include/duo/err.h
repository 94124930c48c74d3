/*
 * err.h - duovisor's error codes.
 *
 * Every core function returns 0 or a negative DUO_E* code (OpenSBI's style). Codes are
 * converted to SBI errors or virtio status only at those boundaries.
 */
#ifndef DUO_ERR_H
#define DUO_ERR_H

enum {
	DUO_OK = 0,
	DUO_EINVAL = -1, /* bad argument or malformed input */
	DUO_ENOMEM = -2, /* out of memory or buffer too small */
	DUO_ERANGE = -3, /* value out of range */
	DUO_EFAULT = -4, /* guest address not backed by RAM or a device */
	DUO_ENOTSUP = -5, /* valid request we do not implement */
	DUO_EIO = -6, /* host I/O failed */
	DUO_ENOENT = -7, /* no such object */
	DUO_EBUSY = -8, /* state does not allow it now */
	DUO_EFORMAT = -9, /* file or image format wrong */
	DUO_EPERM = -10, /* not allowed (read-only, ...) */
	DUO_EAGAIN = -11, /* nothing now, try later */
};

/* duo_strerror - a short constant description of a DUO_E* code. */
const char *duo_strerror(int err);

#endif
