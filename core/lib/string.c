/*
 * string.c - memory and string helpers for the freestanding core (see duo/lib.h).
 * Byte loops are fine here: nothing on a hot path copies more than a few bytes through
 * these, and the riscv64 build must not depend on a libc.
 */
#include <duo/err.h>
#include <duo/lib.h>

void *duo_memcpy(void *dst, const void *src, size_t n)
{
	u8 *d = dst;
	const u8 *s = src;
	while (n >= 8) {
		u64 t;
		__builtin_memcpy(&t, s, 8); /* inlined as a load; never a libc call */
		__builtin_memcpy(d, &t, 8);
		d += 8;
		s += 8;
		n -= 8;
	}
	while (n--)
		*d++ = *s++;
	return dst;
}

void *duo_memset(void *dst, int c, size_t n)
{
	volatile u8 *d = dst; /* volatile: keep gcc from turning this back into memset() */
	while (n--)
		*d++ = (u8)c;
	return dst;
}

int duo_memcmp(const void *a, const void *b, size_t n)
{
	const u8 *x = a, *y = b;
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

size_t duo_strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

size_t duo_strnlen(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && s[n])
		n++;
	return n;
}

int duo_strcmp(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (u8)*a - (u8)*b;
}

int duo_strncmp(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i] != b[i] || !a[i])
			return (u8)a[i] - (u8)b[i];
	}
	return 0;
}

size_t duo_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = duo_strlen(src);
	if (size) {
		size_t n = len < size - 1 ? len : size - 1;
		duo_memcpy(dst, src, n);
		dst[n] = 0;
	}
	return len;
}

const char *duo_strerror(int err)
{
	switch (err) {
	case DUO_OK: return "success";
	case DUO_EINVAL: return "invalid argument";
	case DUO_ENOMEM: return "out of memory";
	case DUO_ERANGE: return "out of range";
	case DUO_EFAULT: return "bad guest address";
	case DUO_ENOTSUP: return "not supported";
	case DUO_EIO: return "I/O error";
	case DUO_ENOENT: return "not found";
	case DUO_EBUSY: return "busy";
	case DUO_EFORMAT: return "bad format";
	case DUO_EPERM: return "not permitted";
	case DUO_EAGAIN: return "try again";
	default: return "unknown error";
	}
}
