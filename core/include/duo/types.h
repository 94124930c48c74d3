/*
 * types.h - the few scalar types every duovisor file shares.
 *
 * The core is freestanding C11: only the compiler's own headers (stdint, stddef,
 * stdbool, stdarg) are available, in both the host and the riscv64 build.
 */
#ifndef DUO_TYPES_H
#define DUO_TYPES_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

typedef u64 gpa_t; /* guest-physical address */
typedef u64 gva_t; /* guest-virtual address */
typedef uintptr_t hva_t; /* hypervisor (host) virtual address */

#define DUO_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define DUO_ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((u64)(a)-1))
#define DUO_ALIGN_DOWN(x, a) ((x) & ~((u64)(a)-1))
#define DUO_BIT(n) (1ULL << (n))
#define DUO_MIN(a, b) ((a) < (b) ? (a) : (b))
#define DUO_MAX(a, b) ((a) > (b) ? (a) : (b))
#define DUO_UNUSED(x) ((void)(x))

#endif
