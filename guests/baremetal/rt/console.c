/*
 * console.c - output for the bare-metal test guests: a small printf over the SBI legacy
 * console (putchar, extension 0x01), which both OpenSBI and duovisor offer and Linux's
 * earlycon relies on. DBCN is exercised by the sbi guest itself, not used here, so a
 * broken DBCN shows up as a FAIL line rather than silence.
 *
 * rt_printf formats into a buffer first and writes it under a lock that a hart may take
 * again (an interrupt handler printing while its hart prints), so lines from different
 * harts do not interleave.
 */
#include "rt.h"

#define PRINTF_BUF 512

static volatile int console_owner = -1;
static int console_depth;

static void console_lock(void)
{
	int me = (int)rt_hartid();
	if (console_owner == me) {
		console_depth++;
		return;
	}
	for (;;) {
		int expected = -1;
		if (__atomic_compare_exchange_n(&console_owner, &expected, me, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			break;
	}
	console_depth = 1;
}

static void console_unlock(void)
{
	if (--console_depth == 0)
		__atomic_store_n(&console_owner, -1, __ATOMIC_RELEASE);
}

void rt_putc(char c)
{
	rt_sbi_legacy(SBI_LEGACY_PUTCHAR, (unsigned char)c, 0, 0);
}

void rt_puts(const char *s)
{
	console_lock();
	while (*s)
		rt_putc(*s++);
	console_unlock();
}

struct out {
	char *buf;
	size_t size, len;
};

static void out_c(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

/* out_num - v in base, right-aligned to width unless left (the caller pads after). */
static void out_num(struct out *o, uint64_t v, unsigned base, bool neg, int width, char pad,
		    bool left)
{
	char tmp[24];
	int n = 0, i;

	do {
		unsigned d = v % base;
		tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		v /= base;
	} while (v);
	if (neg)
		tmp[n++] = '-';
	if (neg && pad == '0') {
		/* "-0042": the sign goes before the zero padding */
		out_c(o, '-');
		n--;
		width--;
	}
	if (!left)
		for (i = n; i < width; i++)
			out_c(o, pad);
	while (n)
		out_c(o, tmp[--n]);
}

/* rt_vsnprintf - %d %i %u %x %p %s %c %% with l/ll/z, a width, '0' and '-' flags. */
int rt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		char pad = ' ';
		bool left = false;
		int width = 0, lng = 0;
		size_t start;

		if (*fmt != '%') {
			out_c(&o, *fmt);
			continue;
		}
		fmt++;
		for (; *fmt == '0' || *fmt == '-'; fmt++) {
			if (*fmt == '0')
				pad = '0';
			else
				left = true;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		if (left)
			pad = ' ';
		start = o.len;
		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = lng ? va_arg(ap, long) : va_arg(ap, int);
			out_num(&o, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, v < 0, width, pad,
				left);
			break;
		}
		case 'u':
		case 'x': {
			uint64_t v = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
			out_num(&o, v, *fmt == 'x' ? 16 : 10, false, width, pad, left);
			break;
		}
		case 'p':
			out_c(&o, '0');
			out_c(&o, 'x');
			out_num(&o, (uintptr_t)va_arg(ap, void *), 16, false, width, pad, left);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			size_t n;
			if (!s)
				s = "(null)";
			n = rt_strlen(s);
			if (!left)
				for (; (int)n < width; width--)
					out_c(&o, ' ');
			while (*s)
				out_c(&o, *s++);
			break;
		}
		case 'c':
			out_c(&o, (char)va_arg(ap, int));
			break;
		case '%':
			out_c(&o, '%');
			break;
		case '\0':
			fmt--;
			break;
		default:
			out_c(&o, '%');
			out_c(&o, *fmt);
			break;
		}
		if (left)
			while ((int)(o.len - start) < width)
				out_c(&o, ' ');
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int rt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = rt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int rt_printf(const char *fmt, ...)
{
	char buf[PRINTF_BUF];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = rt_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	rt_puts(buf);
	return n;
}

/* ---- the few string helpers the guests need ------------------------------------- */

void *rt_memset(void *d, int c, size_t n)
{
	unsigned char *p = d;
	while (n--)
		*p++ = (unsigned char)c;
	return d;
}

void *rt_memcpy(void *d, const void *s, size_t n)
{
	unsigned char *p = d;
	const unsigned char *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

/* The compiler may emit calls to these for struct copies and zeroing. */
void *memset(void *d, int c, size_t n)
{
	return rt_memset(d, c, n);
}

void *memcpy(void *d, const void *s, size_t n)
{
	return rt_memcpy(d, s, n);
}

size_t rt_strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int rt_strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

int rt_strcmp(const char *a, const char *b)
{
	return rt_strncmp(a, b, (size_t)-1);
}
