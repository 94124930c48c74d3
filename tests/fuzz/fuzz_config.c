/*
 * fuzz_config.c - libFuzzer target: the JSON VM-config parser (tools/config/config.c).
 *
 * The input is a config file's bytes. Inputs whose length is a multiple of 4 go through
 * cfg_load_file() - what `duovisor` and the type-1 packer call - on a memfd opened by
 * its /proc/self/fd path (so relative paths are joined to "/proc/self/fd"); every
 * input goes through cfg_parse_string() on a NUL-terminated copy with a base directory
 * of 0, 1 or 250 bytes (the last pushes joined paths past CFG_PATH_MAX) and room for
 * 1..8 VMs.
 *
 * Checked, besides ASan/UBSan and LeakSanitizer: a rejection (-1) always comes with a
 * one-line message starting with the origin; a success returns 1..max VMs, each of
 * which passes vm_config_check, has NUL-terminated strings and a unique name, and
 * leaves the error buffer empty.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <duo/vm.h>

#include "../../tools/config/config.h"

#define DIE(...)                                                                    \
	do {                                                                        \
		fprintf(stderr, "fuzz_config: " __VA_ARGS__);                       \
		fputc('\n', stderr);                                                \
		abort();                                                            \
	} while (0)

static struct vm_config out[CFG_MAX_VMS];
static char err[1024];

static bool terminated(const char *s, size_t cap)
{
	return memchr(s, 0, cap) != NULL;
}

static void check(int r, int max, const char *origin)
{
	if (r == -1) {
		if (!err[0])
			DIE("%s: rejected without a message", origin);
		if (strchr(err, '\n') || strchr(err, '\r'))
			DIE("%s: message is not one line: %s", origin, err);
		if (strncmp(err, origin, strlen(origin)))
			DIE("%s: message does not name its origin: %s", origin, err);
		if (!terminated(err, sizeof(err)))
			DIE("%s: message not terminated", origin);
		return;
	}
	if (r < 1 || r > max)
		DIE("%s: returned %d (max %d)", origin, r, max);
	if (err[0])
		DIE("%s: success with a message: %s", origin, err);
	for (int i = 0; i < r; i++) {
		const struct vm_config *c = &out[i];
		char msg[256];
		if (!terminated(c->name, sizeof(c->name)) ||
		    !terminated(c->kernel, sizeof(c->kernel)) ||
		    !terminated(c->initrd, sizeof(c->initrd)) ||
		    !terminated(c->cmdline, sizeof(c->cmdline)))
			DIE("%s: vm %d: unterminated string", origin, i);
		for (unsigned d = 0; d < c->ndisks && d < CFG_MAX_DISKS; d++)
			if (!terminated(c->disks[d].path, sizeof(c->disks[d].path)))
				DIE("%s: vm %d: unterminated disk path", origin, i);
		if (vm_config_check(c, msg, sizeof(msg)))
			DIE("%s: vm %d accepted but vm_config_check says: %s", origin, i, msg);
		if (!c->kernel[0])
			DIE("%s: vm %d accepted without a kernel", origin, i);
		for (int j = 0; j < i; j++)
			if (!strcmp(out[j].name, c->name))
				DIE("%s: vms %d and %d both named \"%s\"", origin, j, i, c->name);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64], longdir[251];
	int r, max;

	if (fd < 0) {
		fd = memfd_create("fuzz_config", 0);
		if (fd < 0)
			DIE("memfd_create failed");
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		memset(longdir, 'd', sizeof(longdir) - 1);
		longdir[0] = '/';
	}

	/* The CLI's entry: a file. Only for a quarter of the inputs (chosen by length, so a
	 * replay does the same): it mallocs 1 MiB per call, which costs ASan an mmap and
	 * makes it the slowest step; parse_buffer behind it is the same for both entries. */
	if (size % 4)
		goto string;
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		DIE("cannot write the memfd");
	memset(out, 0x5a, sizeof(out));
	err[0] = 0;
	r = cfg_load_file(path, out, CFG_MAX_VMS, err, sizeof(err));
	check(r, CFG_MAX_VMS, path);

string:;
	/* The string entry, with a varying base directory and room for fewer VMs. */
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	const char *dirs[3] = { NULL, "/", longdir };
	max = 1 + (int)(size % CFG_MAX_VMS);
	memset(out, 0x5a, sizeof(out));
	err[0] = 0;
	r = cfg_parse_string(s, "fuzz.json", dirs[size % 3], out, max, err, sizeof(err));
	check(r, max, "fuzz.json");
	free(s);
	return 0;
}
