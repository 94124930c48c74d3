/*
 * string.c - memory and string helpers for the freestanding core (see duo/lib.h).
 *
 * duo_memcpy and duo_memset are on real paths: the loader copies kernel and initrd with
 * them, virtqueues move every byte of disk and network data through them (type 1 serves
 * its disks from RAM), and type 1 zeroes VM structures with them. So when the two
 * pointers agree modulo 8 they move aligned 64-bit words, 32 bytes per iteration; only
 * the unaligned head and tail, or pointers that disagree, go byte by byte. (A plain
 * 8-byte __builtin_memcpy is not enough: riscv64 gcc assumes misaligned access is slow
 * and splits it into eight byte loads and eight byte stores.)
 *
 * The word loops go through a volatile pointer so that gcc cannot recognise them as a
 * copy or a fill and emit a call to memcpy/memset, which type 1 maps back onto these
 * functions (type1/hostlib.c): that would recurse. The riscv64 build must not depend on
 * a libc.
 */
#include <duo/err.h>
#include <duo/lib.h>

typedef u64 __attribute__((may_alias)) word_t;

void *duo_memcpy(void *dst, const void *src, size_t n)
{
	u8 *d = dst;
	const u8 *s = src;
	if ((((uintptr_t)d ^ (uintptr_t)s) & 7) == 0 && n >= 16) {
		while ((uintptr_t)d & 7) {
			*d++ = *s++;
			n--;
		}
		volatile word_t *dw = (volatile word_t *)(void *)d;
		const word_t *sw = (const word_t *)(const void *)s;
		for (; n >= 32; n -= 32, dw += 4, sw += 4) {
			word_t a = sw[0], b = sw[1], c = sw[2], e = sw[3];
			dw[0] = a;
			dw[1] = b;
			dw[2] = c;
			dw[3] = e;
		}
		for (; n >= 8; n -= 8)
			*dw++ = *sw++;
		d = (u8 *)(uintptr_t)dw;
		s = (const u8 *)sw;
	}
	volatile u8 *db = d;
	while (n--)
		*db++ = *s++;
	return dst;
}

void *duo_memset(void *dst, int c, size_t n)
{
	volatile u8 *d = dst; /* volatile: keep gcc from turning this back into memset() */
	if (n >= 16) {
		while ((uintptr_t)d & 7) {
			*d++ = (u8)c;
			n--;
		}
		word_t w = 0x0101010101010101ULL * (u8)c;
		volatile word_t *dw = (volatile word_t *)(uintptr_t)d;
		for (; n >= 32; n -= 32, dw += 4) {
			dw[0] = w;
			dw[1] = w;
			dw[2] = w;
			dw[3] = w;
		}
		for (; n >= 8; n -= 8)
			*dw++ = w;
		d = (volatile u8 *)dw;
	}
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
