/*
 * log.c - duo_log: format one line and hand it to the backend's host_log().
 */
#include <duo/lib.h>
#include <duo/log.h>

void duo_log(struct vm *vm, int level, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	duo_vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	host_log(vm, level, line);
}
