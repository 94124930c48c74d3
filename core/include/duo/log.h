/*
 * log.h - formatted logging from the core, routed to the backend's host_log().
 */
#ifndef DUO_LOG_H
#define DUO_LOG_H

#include <duo/host.h>

/* duo_log - printf-style (duo_vsnprintf subset) one-line message about vm. */
void duo_log(struct vm *vm, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
