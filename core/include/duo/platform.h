/*
 * platform.h - the guest-visible machine: addresses, interrupt numbers, limits.
 *
 * One machine for both backends, laid out like QEMU's `virt` board so guests built for
 * it run unchanged. docs/platform.md draws this map; keep the two in step.
 */
#ifndef DUO_PLATFORM_H
#define DUO_PLATFORM_H

#define PLAT_PLIC_BASE 0x0c000000ULL
#define PLAT_PLIC_SIZE 0x00600000ULL /* 0x0c00_0000..0x0c60_0000: 0x200000 + 0x1000 * 2 * 8 ctx fits */
#define PLAT_UART_BASE 0x10000000ULL
#define PLAT_UART_SIZE 0x100ULL
#define PLAT_UART_IRQ 10
#define PLAT_UART_CLOCK 3686400 /* clock-frequency in the DT (QEMU virt's value) */
#define PLAT_VIRTIO_BASE 0x10001000ULL
#define PLAT_VIRTIO_STRIDE 0x1000ULL
#define PLAT_VIRTIO_SLOTS 8
#define PLAT_VIRTIO_IRQ0 1 /* slot n uses IRQ 1 + n */
#define PLAT_RAM_BASE 0x80000000ULL
#define PLAT_KERNEL_OFFSET 0x200000ULL /* raw images load at RAM + 2 MiB, like QEMU + OpenSBI */

#define PLAT_TIMEBASE_HZ 10000000ULL /* 10 MHz, QEMU virt's timebase */

#define PLAT_MAX_VCPUS 8
#define PLAT_PLIC_NDEV 31 /* interrupt sources 1..31 */
#define PLAT_MIN_RAM_MIB 16
#define PLAT_MAX_RAM_MIB 65536

#define PLAT_FDT_MAX_SIZE 0x10000ULL /* 64 KiB reserved for the generated device tree */

#endif
