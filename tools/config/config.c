/*
 * config.c - the JSON VM-config parser (tools/config/config.h; keys in docs/config.md).
 *
 * Host-side only: linked into build/duovisor (type 2), the type-1 image packer and the
 * unit tests. jansson does the RFC 8259 parsing (with JSON_REJECT_DUPLICATES, and line
 * and column for syntax errors); this file walks the tree into struct vm_config, which
 * starts from vm_config_defaults() and ends with vm_config_check(), so the type-1 boot
 * path and this parser agree on what a valid VM is. Each error is one line
 * "ORIGIN: PATH.KEY: problem", where PATH is "vms[i]." in a VM list, and parsing stops
 * at the first one. Relative paths are resolved against the config file's directory.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <duo/netsw.h>
#include <duo/vm.h>

#include "config.h"

#define CFG_FILE_MAX (1 << 20) /* a config larger than 1 MiB is a mistake */

struct ctx {
	const char *origin;  /* file name (or what the caller calls the string) */
	const char *basedir; /* NULL: leave relative paths alone */
	char *err;
	size_t errlen;
	char where[48]; /* "" or "vms[3]." or "vms[3].nets[1]." ... */
};

static int fail(struct ctx *x, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Keep an error to one line: keys and values quoted in messages come from the file, and
 * a JSON string may hold any control character ("\n" in a key or a MAC). Each one
 * becomes '?'.
 */
static void one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* Write "ORIGIN: WHERE KEY: message" and return -1. */
static int fail(struct ctx *x, const char *key, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (x->err && x->errlen) {
		snprintf(x->err, x->errlen, "%s: %s%s: %s", x->origin, x->where, key, msg);
		one_line(x->err);
	}
	return -1;
}

/* What a JSON value is, for "(got ...)" in messages. */
static const char *kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number with a fraction or exponent";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

static int get_uint(struct ctx *x, const char *key, const json_t *v, long long min, long long max,
		    u32 *out)
{
	long long n;

	if (json_is_real(v))
		return fail(x, key, "must be an integer (got %g)", json_real_value(v));
	if (!json_is_integer(v))
		return fail(x, key, "must be an integer (got %s)", kind(v));
	n = json_integer_value(v);
	if (n < min || n > max)
		return fail(x, key, "must be %lld..%lld (got %lld)", min, max, n);
	*out = (u32)n;
	return 0;
}

/* A string that must fit dst[cap] with its NUL. */
static int get_str(struct ctx *x, const char *key, const json_t *v, char *dst, size_t cap)
{
	size_t n;

	if (!json_is_string(v))
		return fail(x, key, "must be a string (got %s)", kind(v));
	n = json_string_length(v);
	if (n >= cap)
		return fail(x, key, "too long (%zu bytes, at most %zu)", n, cap - 1);
	memcpy(dst, json_string_value(v), n + 1);
	return 0;
}

static int get_bool(struct ctx *x, const char *key, const json_t *v, bool *out)
{
	if (!json_is_boolean(v))
		return fail(x, key, "must be true or false (got %s)", kind(v));
	*out = json_is_true(v);
	return 0;
}

/* A file path; relative ones are joined to the config's directory. */
static int get_path(struct ctx *x, const char *key, const json_t *v, char *dst, size_t cap,
		    bool may_be_empty)
{
	char rel[CFG_PATH_MAX];
	size_t dl;
	int n;

	if (get_str(x, key, v, rel, sizeof(rel)))
		return -1;
	if (!rel[0]) {
		if (may_be_empty) {
			dst[0] = 0;
			return 0;
		}
		return fail(x, key, "must not be empty");
	}
	if (rel[0] == '/' || !x->basedir || !x->basedir[0]) {
		snprintf(dst, cap, "%s", rel);
		return 0;
	}
	dl = strlen(x->basedir);
	n = snprintf(dst, cap, "%s%s%s", x->basedir, x->basedir[dl - 1] == '/' ? "" : "/", rel);
	if (n < 0 || (size_t)n >= cap)
		return fail(x, key, "too long once made relative to %s (%d bytes, at most %zu)",
			    x->basedir, n, cap - 1);
	return 0;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* "52:54:00:12:34:56": six hex pairs, colon separated, unicast, not all zero. */
static int get_mac(struct ctx *x, const char *key, const json_t *v, u8 mac[6])
{
	char s[32];
	bool ok;

	if (get_str(x, key, v, s, sizeof(s)))
		return -1;
	ok = strlen(s) == 17;
	for (int i = 0; ok && i < 6; i++) {
		int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);
		ok = hi >= 0 && lo >= 0 && (i == 5 || s[3 * i + 2] == ':');
		if (ok) /* hexval's -1 must not be shifted (UB) */
			mac[i] = (u8)(hi << 4 | lo);
	}
	if (!ok)
		return fail(x, key, "must look like \"52:54:00:12:34:56\" (got \"%s\")", s);
	if (mac[0] & 1)
		return fail(x, key, "must be a unicast address: first byte even (got \"%s\")", s);
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return fail(x, key, "must not be all zero");
	return 0;
}

/* Decimal 1..65535 in [p, end). */
static bool port_ok(const char *p, const char *end)
{
	long v = 0;

	if (p == end || end - p > 5)
		return false;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (*p - '0');
	}
	return v >= 1 && v <= 65535;
}

/* Empty, or a dotted-quad IPv4 address (decimal parts, no leading zeros), in [p, end). */
static bool addr_ok(const char *p, const char *end)
{
	int parts = 0;

	if (p == end)
		return true;
	while (parts < 4) {
		int v = 0, digits = 0;
		while (p < end && *p >= '0' && *p <= '9' && digits < 4) {
			v = v * 10 + (*p++ - '0');
			digits++;
		}
		/* no leading zeros: QEMU would read "010" as octal */
		if (!digits || digits > 3 || v > 255 || (digits > 1 && p[-digits] == '0'))
			return false;
		parts++;
		if (p == end)
			break;
		if (*p++ != '.')
			return false;
	}
	return parts == 4 && p == end;
}

/*
 * QEMU's user-mode forward: [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport, e.g.
 * "tcp::8080-:80" or "udp:127.0.0.1:5353-10.0.2.15:53".
 */
static bool hostfwd_ok(const char *s)
{
	const char *c1 = strchr(s, ':'), *c2, *dash, *c3;

	if (!c1)
		return false;
	if (!(c1 == s || (c1 - s == 3 && (!strncmp(s, "tcp", 3) || !strncmp(s, "udp", 3)))))
		return false;
	c2 = strchr(c1 + 1, ':');
	if (!c2 || !addr_ok(c1 + 1, c2))
		return false;
	dash = strchr(c2 + 1, '-');
	if (!dash || !port_ok(c2 + 1, dash))
		return false;
	c3 = strchr(dash + 1, ':');
	if (!c3 || !addr_ok(dash + 1, c3))
		return false;
	return port_ok(c3 + 1, c3 + 1 + strlen(c3 + 1));
}

/* Object iteration without jansson's foreach macros: load key and value, pass it on. */
static void *kv(void *it, const char **key, json_t **v)
{
	if (it) {
		*key = json_object_iter_key(it);
		*v = json_object_iter_value(it);
	}
	return it;
}

/* Push "name[i]." onto x->where; returns the old length to restore. */
static size_t enter(struct ctx *x, const char *name, size_t i)
{
	size_t old = strlen(x->where);

	snprintf(x->where + old, sizeof(x->where) - old, "%s[%zu].", name, i);
	return old;
}

static int parse_disk(struct ctx *x, const json_t *o, struct vm_disk_cfg *d)
{
	const char *key;
	json_t *v;
	bool has_path = false;

	for (void *it = kv(json_object_iter((json_t *)o), &key, &v); it;
	     it = kv(json_object_iter_next((json_t *)o, it), &key, &v)) {
		if (!strcmp(key, "path")) {
			if (get_path(x, key, v, d->path, sizeof(d->path), false))
				return -1;
			has_path = true;
		} else if (!strcmp(key, "readonly")) {
			if (get_bool(x, key, v, &d->readonly))
				return -1;
		} else {
			return fail(x, key, "unknown key");
		}
	}
	if (!has_path)
		return fail(x, "path", "missing (the disk image file)");
	return 0;
}

static int parse_net(struct ctx *x, const json_t *o, struct vm_net_cfg *n)
{
	const char *key;
	json_t *v, *fwd = NULL;
	char mode[16];

	n->mode = NET_USER;
	for (void *it = kv(json_object_iter((json_t *)o), &key, &v); it;
	     it = kv(json_object_iter_next((json_t *)o, it), &key, &v)) {
		if (!strcmp(key, "mode")) {
			if (!json_is_string(v) || json_string_length(v) >= sizeof(mode))
				return fail(x, key, "must be \"switch\", \"user\" or \"tap\"");
			snprintf(mode, sizeof(mode), "%s", json_string_value(v));
			if (!strcmp(mode, "switch"))
				n->mode = NET_SWITCH;
			else if (!strcmp(mode, "user"))
				n->mode = NET_USER;
			else if (!strcmp(mode, "tap"))
				n->mode = NET_TAP;
			else
				return fail(x, key,
					    "must be \"switch\", \"user\" or \"tap\" (got \"%s\")",
					    mode);
		} else if (!strcmp(key, "switch")) {
			if (get_str(x, key, v, n->sw, sizeof(n->sw)))
				return -1;
		} else if (!strcmp(key, "tap")) {
			if (get_str(x, key, v, n->tap, sizeof(n->tap)))
				return -1;
		} else if (!strcmp(key, "mac")) {
			if (get_mac(x, key, v, n->mac))
				return -1;
			n->mac_set = true;
		} else if (!strcmp(key, "hostfwd")) {
			fwd = v;
		} else if (!strcmp(key, "rate_mbit")) {
			if (get_uint(x, key, v, 0, NETSW_MAX_MBIT, &n->rate_mbit))
				return -1;
			n->rate_set = true;
		} else {
			return fail(x, key, "unknown key");
		}
	}
	if (fwd) {
		size_t i;
		json_t *f;
		if (!json_is_array(fwd))
			return fail(x, "hostfwd", "must be an array of strings (got %s)",
				    kind(fwd));
		if (json_array_size(fwd) > CFG_MAX_HOSTFWD)
			return fail(x, "hostfwd", "at most %d forwards (got %zu)", CFG_MAX_HOSTFWD,
				    json_array_size(fwd));
		if (n->mode != NET_USER && json_array_size(fwd))
			return fail(x, "hostfwd", "only for mode \"user\"");
		for (i = 0; i < json_array_size(fwd); i++) {
			f = json_array_get(fwd, i);
			char k[32];
			snprintf(k, sizeof(k), "hostfwd[%zu]", i);
			if (get_str(x, k, f, n->hostfwd[i], sizeof(n->hostfwd[i])))
				return -1;
			if (!hostfwd_ok(n->hostfwd[i]))
				return fail(x, k,
					    "must be "
					    "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport, "
					    "e.g. \"tcp::8080-:80\" (got \"%s\")",
					    n->hostfwd[i]);
		}
		n->nhostfwd = (unsigned)json_array_size(fwd);
	}
	if (n->mode == NET_SWITCH && !n->sw[0])
		return fail(x, "switch", "missing (mode \"switch\" needs the switch's name)");
	if (n->mode == NET_TAP && !n->tap[0])
		return fail(x, "tap", "missing (mode \"tap\" needs a host TAP device)");
	if (n->mode != NET_SWITCH && n->sw[0])
		return fail(x, "switch", "only for mode \"switch\"");
	if (n->mode != NET_TAP && n->tap[0])
		return fail(x, "tap", "only for mode \"tap\"");
	return 0;
}

/* An array of objects under `key`, each parsed by one of the two functions above. */
static int parse_list(struct ctx *x, const char *key, const json_t *v, struct vm_config *c)
{
	bool disks = !strcmp(key, "disks");
	size_t max = disks ? CFG_MAX_DISKS : CFG_MAX_NETS, i;
	json_t *e;

	if (!json_is_array(v))
		return fail(x, key, "must be an array of objects (got %s)", kind(v));
	if (json_array_size(v) > max)
		return fail(x, key, "at most %zu (got %zu)", max, json_array_size(v));
	for (i = 0; i < json_array_size(v); i++) {
		e = json_array_get(v, i);
		size_t old;
		int r;
		if (!json_is_object(e)) {
			char k[24];
			snprintf(k, sizeof(k), "%s[%zu]", key, i);
			return fail(x, k, "must be an object (got %s)", kind(e));
		}
		old = enter(x, key, i);
		r = disks ? parse_disk(x, e, &c->disks[i]) : parse_net(x, e, &c->nets[i]);
		if (r)
			return r;
		x->where[old] = 0;
	}
	if (disks)
		c->ndisks = (unsigned)i;
	else
		c->nnets = (unsigned)i;
	return 0;
}

static int parse_vm(struct ctx *x, const json_t *o, struct vm_config *c)
{
	const char *key;
	json_t *v;
	char buf[16];
	bool has_kernel = false;

	for (void *it = kv(json_object_iter((json_t *)o), &key, &v); it;
	     it = kv(json_object_iter_next((json_t *)o, it), &key, &v)) {
		int r;
		if (!strcmp(key, "name"))
			r = get_str(x, key, v, c->name, sizeof(c->name));
		else if (!strcmp(key, "kernel")) {
			r = get_path(x, key, v, c->kernel, sizeof(c->kernel), false);
			has_kernel = true;
		} else if (!strcmp(key, "initrd"))
			r = get_path(x, key, v, c->initrd, sizeof(c->initrd), true);
		else if (!strcmp(key, "cmdline"))
			r = get_str(x, key, v, c->cmdline, sizeof(c->cmdline));
		else if (!strcmp(key, "memory_mib"))
			r = get_uint(x, key, v, PLAT_MIN_RAM_MIB, PLAT_MAX_RAM_MIB, &c->memory_mib);
		else if (!strcmp(key, "vcpus"))
			r = get_uint(x, key, v, 1, PLAT_MAX_VCPUS, &c->vcpus);
		else if (!strcmp(key, "cpu_weight"))
			r = get_uint(x, key, v, 1, 65535, &c->cpu_weight);
		else if (!strcmp(key, "cpu_cap_pct"))
			r = get_uint(x, key, v, 0, 100 * PLAT_MAX_VCPUS, &c->cpu_cap_pct);
		else if (!strcmp(key, "cpu_policy")) {
			r = json_is_string(v) && json_string_length(v) < sizeof(buf) ? 0 : -1;
			if (!r) {
				snprintf(buf, sizeof(buf), "%s", json_string_value(v));
				if (!strcmp(buf, "shared"))
					c->cpu_policy = CPU_SHARED;
				else if (!strcmp(buf, "dedicated"))
					c->cpu_policy = CPU_DEDICATED;
				else
					r = -1;
			}
			if (r)
				r = fail(x, key, "must be \"shared\" or \"dedicated\"");
		} else if (!strcmp(key, "disks") || !strcmp(key, "nets"))
			r = parse_list(x, key, v, c);
		else
			r = fail(x, key, "unknown key");
		if (r)
			return r;
	}
	if (!has_kernel)
		return fail(x, "kernel", "missing (path of the guest kernel image)");
	if (c->cpu_cap_pct > 100 * c->vcpus)
		return fail(x, "cpu_cap_pct", "must be 0 (no cap) .. 100 x vcpus = %u (got %u)",
			    100 * c->vcpus, c->cpu_cap_pct);
	return 0;
}

/* One VM object: defaults, keys, then the checks the type-1 boot path also runs. */
static int one_vm(struct ctx *x, const json_t *o, struct vm_config *c, int index)
{
	char msg[256];

	vm_config_defaults(c);
	if (index >= 0)
		snprintf(c->name, sizeof(c->name), "vm%d", index);
	if (parse_vm(x, o, c))
		return -1;
	if (vm_config_check(c, msg, sizeof(msg))) {
		char *colon = strstr(msg, ": ");
		if (colon) { /* "key: problem" -> keep our format */
			*colon = 0;
			return fail(x, msg, "%s", colon + 2);
		}
		return fail(x, "config", "%s", msg);
	}
	return 0;
}

static int parse_root(struct ctx *x, const json_t *root, struct vm_config *out, int max)
{
	json_t *vms = json_object_get(root, "vms");
	const char *key;
	json_t *v;
	size_t i, n;

	if (!json_is_object(root))
		return fail(x, "top level", "must be a VM object or {\"vms\": [ ... ]} (got %s)",
			    kind(root));
	if (!vms)
		return one_vm(x, root, &out[0], -1) ? -1 : 1;

	for (void *it = json_object_iter((json_t *)root); it;
	     it = json_object_iter_next((json_t *)root, it)) {
		key = json_object_iter_key(it);
		if (strcmp(key, "vms"))
			return fail(x, key,
				    "unknown key (a file with \"vms\" holds only that list)");
	}
	if (!json_is_array(vms))
		return fail(x, "vms", "must be an array of VM objects (got %s)", kind(vms));
	n = json_array_size(vms);
	if (n < 1 || n > (size_t)max)
		return fail(x, "vms", "must hold 1..%d VMs (got %zu)", max, n);
	for (i = 0; i < n; i++) {
		v = json_array_get(vms, i);
		x->where[0] = 0;
		if (!json_is_object(v)) {
			char k[24];
			snprintf(k, sizeof(k), "vms[%zu]", i);
			return fail(x, k, "must be an object (got %s)", kind(v));
		}
		snprintf(x->where, sizeof(x->where), "vms[%zu].", i);
		if (one_vm(x, v, &out[i], (int)i))
			return -1;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(out[j].name, out[i].name))
				return fail(x, "name", "duplicate name \"%s\" (also vms[%zu])",
					    out[i].name, j);
	}
	return (int)n;
}

/* Parse len bytes of JSON (need not be NUL-terminated). */
static int parse_buffer(const char *buf, size_t len, const char *origin, const char *basedir,
			struct vm_config *out, int max, char *err, size_t errlen)
{
	struct ctx x = { origin ? origin : "config", basedir, err, errlen, "" };
	json_error_t je;
	json_t *root;
	int r;

	if (err && errlen)
		err[0] = 0;
	if (!out || max < 1)
		return fail(&x, "vms", "no room for any VM (max %d)", max);
	if (max > CFG_MAX_VMS)
		max = CFG_MAX_VMS;
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (err && errlen) {
			snprintf(err, errlen, "%s: line %d column %d: JSON syntax error: %s",
				 x.origin, je.line, je.column, je.text);
			one_line(err);
		}
		return -1;
	}
	r = parse_root(&x, root, out, max);
	json_decref(root);
	return r;
}

int cfg_parse_string(const char *json, const char *origin, const char *basedir,
		     struct vm_config *out, int max, char *err, size_t errlen)
{
	if (!json) {
		if (err && errlen)
			snprintf(err, errlen, "%s: no JSON text", origin ? origin : "config");
		return -1;
	}
	return parse_buffer(json, strlen(json), origin, basedir, out, max, err, errlen);
}

int cfg_load_file(const char *path, struct vm_config *out, int max, char *err, size_t errlen)
{
	char *buf, *dir, *slash;
	size_t len = 0;
	FILE *f;
	int r;

	f = fopen(path, "rb");
	if (!f) {
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	buf = malloc(CFG_FILE_MAX + 1);
	errno = 0;
	if (buf)
		len = fread(buf, 1, CFG_FILE_MAX + 1, f);
	r = !buf ? ENOMEM : ferror(f) ? (errno ? errno : EIO) : 0; /* EISDIR for a directory */
	fclose(f);
	if (r || len > CFG_FILE_MAX) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path,
				 r ? strerror(r) : "larger than 1 MiB; not a VM config");
		free(buf);
		return -1;
	}

	/* The directory part: "configs/x.json" -> "configs", "/x.json" -> "/", "x.json" -> none. */
	dir = strdup(path);
	if (!dir) {
		free(buf);
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -1;
	}
	slash = strrchr(dir, '/');
	if (slash)
		slash[slash == dir ? 1 : 0] = 0;
	r = parse_buffer(buf, len, path, slash ? dir : NULL, out, max, err, errlen);
	free(dir);
	free(buf);
	return r;
}
