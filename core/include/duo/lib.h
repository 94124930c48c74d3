/*
 * lib.h - the small libc the freestanding core carries with it.
 *
 * The core may not call the host's libc (it also runs on bare metal), so it uses these.
 * Names are duo_-prefixed so the host build never collides with libc.
 */
#ifndef DUO_LIB_H
#define DUO_LIB_H

#include <duo/types.h>

void *duo_memcpy(void *dst, const void *src, size_t n);
void *duo_memset(void *dst, int c, size_t n);
int duo_memcmp(const void *a, const void *b, size_t n);
size_t duo_strlen(const char *s);
size_t duo_strnlen(const char *s, size_t max);
int duo_strcmp(const char *a, const char *b);
int duo_strncmp(const char *a, const char *b, size_t n);
/* duo_strlcpy - copy with truncation; always NUL-terminates when size > 0. Returns strlen(src). */
size_t duo_strlcpy(char *dst, const char *src, size_t size);

/*
 * duo_vsnprintf/duo_snprintf - printf subset: %d %i %u %x %X %p %s %c %% with flags
 * '-', '0', width, precision for %s, and length modifiers l, ll, z. Always
 * NUL-terminates when size > 0; returns the length the full output would have.
 */
int duo_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int duo_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Little-endian loads/stores on possibly unaligned bytes (guest data, images). */
static inline u16 duo_le16(const void *p)
{
	const u8 *b = p;
	return (u16)(b[0] | (b[1] << 8));
}
static inline u32 duo_le32(const void *p)
{
	const u8 *b = p;
	return (u32)b[0] | ((u32)b[1] << 8) | ((u32)b[2] << 16) | ((u32)b[3] << 24);
}
static inline u64 duo_le64(const void *p)
{
	return duo_le32(p) | ((u64)duo_le32((const u8 *)p + 4) << 32);
}
static inline void duo_put_le16(void *p, u16 v)
{
	u8 *b = p;
	b[0] = (u8)v;
	b[1] = (u8)(v >> 8);
}
static inline void duo_put_le32(void *p, u32 v)
{
	u8 *b = p;
	for (int i = 0; i < 4; i++)
		b[i] = (u8)(v >> (8 * i));
}
static inline void duo_put_le64(void *p, u64 v)
{
	duo_put_le32(p, (u32)v);
	duo_put_le32((u8 *)p + 4, (u32)(v >> 32));
}
static inline u32 duo_be32(const void *p)
{
	const u8 *b = p;
	return ((u32)b[0] << 24) | ((u32)b[1] << 16) | ((u32)b[2] << 8) | b[3];
}
static inline void duo_put_be32(void *p, u32 v)
{
	u8 *b = p;
	b[0] = (u8)(v >> 24);
	b[1] = (u8)(v >> 16);
	b[2] = (u8)(v >> 8);
	b[3] = (u8)v;
}

/*
 * A spinlock usable in both builds (plain atomics; host_relax() when contended so a
 * hosted build with more vCPU threads than cores does not burn its time slice).
 * Hold it only for short, non-blocking critical sections.
 */
struct duo_lock {
	volatile u32 v;
};
#define DUO_LOCK_INIT { 0 }
void duo_lock(struct duo_lock *l);
void duo_unlock(struct duo_lock *l);

#endif
