/*
 * test_config.c - unit tests for the JSON VM-config parser (tools/config/config.c).
 *
 * One good single-VM string with every key, one good multi-VM file read from disk (for
 * relative-path resolution), then one test per error class: JSON syntax, duplicate and
 * unknown keys, wrong types, negative and fractional numbers, ranges, strings too long
 * for the struct, bad MACs and hostfwd rules, VM-list shape, duplicate names. Errors
 * are compared in full where docs/config.md promises their exact form.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glob.h>
#include <unistd.h>
#include <sys/stat.h>

#include "../../tools/config/config.h"
#include "harness.h"

static struct vm_config vms[CFG_MAX_VMS];
static char err[1024];

/* Parse `json` as if it came from "x.json" in directory /cfg. */
static int parse(const char *json)
{
	memset(vms, 0x77, sizeof(vms));
	err[0] = 0;
	return cfg_parse_string(json, "x.json", "/cfg", vms, CFG_MAX_VMS, err, sizeof(err));
}

/* Expect failure with exactly `want`, and say what we got if not. */
static int err_is(const char *json, const char *want)
{
	int n = parse(json);
	if (n == -1 && !strcmp(err, want))
		return 1;
	printf("    json: %s\n    got %d: %s\n    want:  %s\n", json, n, err, want);
	return 0;
}

/* Expect failure with an error that contains `part`, on a single line. */
static int err_has(const char *json, const char *part)
{
	int n = parse(json);
	if (n == -1 && strstr(err, part) && !strchr(err, '\n') && !strncmp(err, "x.json: ", 8))
		return 1;
	printf("    json: %s\n    got %d: %s\n    want part: %s\n", json, n, err, part);
	return 0;
}

TEST(config_single_vm_every_key)
{
	const char *j =
		"{\n"
		"  \"name\": \"web-1\",\n"
		"  \"kernel\": \"images/Image\",\n"
		"  \"initrd\": \"/abs/initrd.cpio.gz\",\n"
		"  \"cmdline\": \"console=ttyS0 quiet\",\n"
		"  \"memory_mib\": 512, \"vcpus\": 2,\n"
		"  \"cpu_policy\": \"dedicated\", \"cpu_weight\": 1000, \"cpu_cap_pct\": 150,\n"
		"  \"disks\": [ {\"path\": \"disk.img\"}, {\"path\": \"ro.img\", \"readonly\": "
		"true} "
		"],\n"
		"  \"nets\": [ {\"mode\": \"user\", \"mac\": \"52:54:00:AB:cd:0f\",\n"
		"              \"hostfwd\": [\"tcp::8080-:80\", "
		"\"udp:127.0.0.1:5353-10.0.2.15:53\"]},\n"
		"            {\"mode\": \"switch\", \"switch\": \"lan0\"},\n"
		"            {\"mode\": \"tap\", \"tap\": \"tap7\"} ]\n"
		"}\n";
	struct vm_config *c = &vms[0];

	CHECK_EQ(parse(j), 1);
	CHECK(!strcmp(c->name, "web-1"));
	CHECK(!strcmp(c->kernel, "/cfg/images/Image"));
	CHECK(!strcmp(c->initrd, "/abs/initrd.cpio.gz"));
	CHECK(!strcmp(c->cmdline, "console=ttyS0 quiet"));
	CHECK_EQ(c->memory_mib, 512);
	CHECK_EQ(c->vcpus, 2);
	CHECK_EQ(c->cpu_policy, CPU_DEDICATED);
	CHECK_EQ(c->cpu_weight, 1000);
	CHECK_EQ(c->cpu_cap_pct, 150);
	CHECK_EQ(c->ndisks, 2);
	CHECK(!strcmp(c->disks[0].path, "/cfg/disk.img") && !c->disks[0].readonly);
	CHECK(!strcmp(c->disks[1].path, "/cfg/ro.img") && c->disks[1].readonly);
	CHECK_EQ(c->nnets, 3);
	CHECK_EQ(c->nets[0].mode, NET_USER);
	CHECK(c->nets[0].mac_set);
	CHECK(!memcmp(c->nets[0].mac, "\x52\x54\x00\xab\xcd\x0f", 6));
	CHECK_EQ(c->nets[0].nhostfwd, 2);
	CHECK(!strcmp(c->nets[0].hostfwd[1], "udp:127.0.0.1:5353-10.0.2.15:53"));
	CHECK_EQ(c->nets[1].mode, NET_SWITCH);
	CHECK(!strcmp(c->nets[1].sw, "lan0") && !c->nets[1].mac_set);
	CHECK_EQ(c->nets[2].mode, NET_TAP);
	CHECK(!strcmp(c->nets[2].tap, "tap7"));
}

TEST(config_defaults)
{
	struct vm_config d;

	CHECK_EQ(parse("{\"kernel\": \"Image\"}"), 1);
	vm_config_defaults(&d);
	duo_strlcpy(d.kernel, "/cfg/Image", sizeof(d.kernel));
	CHECK(!memcmp(&vms[0], &d, sizeof(d)));
	CHECK(!strcmp(vms[0].name, "vm"));
	CHECK_EQ(vms[0].memory_mib, 256);
	CHECK(!strcmp(vms[0].cmdline, "console=ttyS0"));
	/* A net without "mode" is a user-mode net. */
	CHECK_EQ(parse("{\"kernel\": \"I\", \"nets\": [{}]}"), 1);
	CHECK_EQ(vms[0].nets[0].mode, NET_USER);
	/* No basedir: relative paths stay as written. */
	CHECK_EQ(cfg_parse_string("{\"kernel\": \"a/I\"}", "s", NULL, vms, 1, err, sizeof(err)), 1);
	CHECK(!strcmp(vms[0].kernel, "a/I"));
}

TEST(config_multi_vm_file)
{
	char dir[] = "/tmp/duo_cfg_XXXXXX", path[256], sub[192], rel[512];
	const char *j =
		"{ \"vms\": [\n"
		"  {\"name\": \"a\", \"kernel\": \"Image\", \"initrd\": \"../i.cpio\"},\n"
		"  {\"kernel\": \"/k\", \"memory_mib\": 64},\n"
		"  {\"name\": \"c\", \"kernel\": \"k\", \"disks\": [{\"path\": \"d.img\"}]}\n"
		"] }\n";
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(sub, sizeof(sub), "%s/configs", dir);
	mkdir(sub, 0700);
	snprintf(path, sizeof(path), "%s/vms.json", sub);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs(j, f);
	fclose(f);

	CHECK_EQ(cfg_load_file(path, vms, CFG_MAX_VMS, err, sizeof(err)), 3);
	CHECK(!strcmp(vms[0].name, "a"));
	snprintf(rel, sizeof(rel), "%s/Image", sub);
	CHECK(!strcmp(vms[0].kernel, rel));
	snprintf(rel, sizeof(rel), "%s/../i.cpio", sub);
	CHECK(!strcmp(vms[0].initrd, rel));
	CHECK(!strcmp(vms[1].name, "vm1")); /* unnamed VMs in a list: vm<index> */
	CHECK(!strcmp(vms[1].kernel, "/k"));
	CHECK_EQ(vms[1].memory_mib, 64);
	snprintf(rel, sizeof(rel), "%s/d.img", sub);
	CHECK(!strcmp(vms[2].disks[0].path, rel));

	/* Too many for the caller's array. */
	CHECK_EQ(cfg_load_file(path, vms, 2, err, sizeof(err)), -1);
	snprintf(rel, sizeof(rel), "%s: vms: must hold 1..2 VMs (got 3)", path);
	CHECK(!strcmp(err, rel));

	/* Syntax errors name the file, line and column. */
	f = fopen(path, "w");
	fputs("{\n  \"kernel\": \"Image\",\n  \"vcpus\": 2,,\n}\n", f);
	fclose(f);
	CHECK_EQ(cfg_load_file(path, vms, CFG_MAX_VMS, err, sizeof(err)), -1);
	snprintf(rel, sizeof(rel), "%s: line 3 column ", path);
	CHECK(!strncmp(err, rel, strlen(rel)) && strstr(err, ": JSON syntax error: "));

	unlink(path);
	CHECK_EQ(cfg_load_file(path, vms, CFG_MAX_VMS, err, sizeof(err)), -1);
	snprintf(rel, sizeof(rel), "%s: cannot open: No such file or directory", path);
	CHECK(!strcmp(err, rel));
	rmdir(sub);
	rmdir(dir);
}

TEST(config_json_syntax_errors)
{
	CHECK(err_has("{\n  \"kernel\": \"I\"\n  \"vcpus\": 1 }",
		      "x.json: line 3 column 9: JSON syntax error: "));
	CHECK(err_has("", "line 1 column 0: JSON syntax error: "));
	CHECK(err_has("{\"kernel\": \"I\",}", "JSON syntax error"));
	CHECK(err_has("{\"kernel\": 'I'}", "JSON syntax error"));
	CHECK(err_has("{\"kernel\": \"I\"} trailing", "JSON syntax error"));
	CHECK(err_has("{\"kernel\": \"I\", \"vcpus\": 99999999999999999999999}",
		      "JSON syntax error"));
	CHECK(err_has("{\"kernel\": \"a\\u0000b\"}", "JSON syntax error"));
	/* Duplicate keys are rejected by jansson itself (JSON_REJECT_DUPLICATES). */
	CHECK(err_has("{\"kernel\": \"I\", \"vcpus\": 1, \"vcpus\": 2}", "duplicate"));
	CHECK(err_has("[1, 2]", "x.json: top level: must be a VM object"));
}

TEST(config_unknown_keys)
{
	CHECK(err_is("{\"vms\": [{\"kernel\": \"I\"}, {\"kernel\": \"I\", \"colour\": 1}]}",
		     "x.json: vms[1].colour: unknown key"));
	CHECK(err_is("{\"kernel\": \"I\", \"memory\": 256}", "x.json: memory: unknown key"));
	CHECK(err_is("{\"kernel\": \"I\", \"disks\": [{\"path\": \"d\", \"ro\": true}]}",
		     "x.json: disks[0].ro: unknown key"));
	CHECK(err_is("{\"vms\": [{\"kernel\": \"I\", \"nets\": [{}, {\"model\": \"e1000\"}]}]}",
		     "x.json: vms[0].nets[1].model: unknown key"));
	CHECK(err_has("{\"vms\": [{\"kernel\": \"I\"}], \"kernel\": \"I\"}",
		      "x.json: kernel: unknown key"));
}

TEST(config_wrong_types_and_numbers)
{
	CHECK(err_is("{\"vms\": [{\"kernel\": \"I\"}, {\"kernel\": \"I\", \"memory_mib\": 0}]}",
		     "x.json: vms[1].memory_mib: must be 16..65536 (got 0)"));
	CHECK(err_is("{\"kernel\": \"I\", \"memory_mib\": -256}",
		     "x.json: memory_mib: must be 16..65536 (got -256)"));
	CHECK(err_is("{\"kernel\": \"I\", \"memory_mib\": 65537}",
		     "x.json: memory_mib: must be 16..65536 (got 65537)"));
	CHECK(err_is("{\"kernel\": \"I\", \"memory_mib\": 4294967312}",
		     "x.json: memory_mib: must be 16..65536 (got 4294967312)"));
	CHECK(err_is("{\"kernel\": \"I\", \"memory_mib\": 256.5}",
		     "x.json: memory_mib: must be an integer (got 256.5)"));
	CHECK(err_is("{\"kernel\": \"I\", \"vcpus\": 2.0}",
		     "x.json: vcpus: must be an integer (got 2)"));
	CHECK(err_is("{\"kernel\": \"I\", \"vcpus\": 1e0}",
		     "x.json: vcpus: must be an integer (got 1)"));
	CHECK(err_is("{\"kernel\": \"I\", \"vcpus\": \"2\"}",
		     "x.json: vcpus: must be an integer (got a string)"));
	CHECK(err_is("{\"kernel\": \"I\", \"vcpus\": 9}", "x.json: vcpus: must be 1..8 (got 9)"));
	CHECK(err_is("{\"kernel\": \"I\", \"cpu_weight\": 0}",
		     "x.json: cpu_weight: must be 1..65535 (got 0)"));
	CHECK(err_is("{\"kernel\": \"I\", \"vcpus\": 2, \"cpu_cap_pct\": 201}",
		     "x.json: cpu_cap_pct: must be 0 (no cap) .. 100 x vcpus = 200 (got 201)"));
	CHECK(err_is("{\"kernel\": \"I\", \"cpu_cap_pct\": -1}",
		     "x.json: cpu_cap_pct: must be 0..800 (got -1)"));
	CHECK(err_is("{\"kernel\": \"I\", \"cpu_policy\": \"fair\"}",
		     "x.json: cpu_policy: must be \"shared\" or \"dedicated\""));
	CHECK(err_is("{\"kernel\": 7}", "x.json: kernel: must be a string (got an integer)"));
	CHECK(err_is("{\"kernel\": null}", "x.json: kernel: must be a string (got null)"));
	CHECK(err_is("{\"kernel\": \"\"}", "x.json: kernel: must not be empty"));
	CHECK(err_is("{\"name\": \"x\"}",
		     "x.json: kernel: missing (path of the guest kernel image)"));
	CHECK(err_is("{\"kernel\": \"I\", \"disks\": [{\"path\": \"d\", \"readonly\": 1}]}",
		     "x.json: disks[0].readonly: must be true or false (got an integer)"));
	CHECK(err_is("{\"kernel\": \"I\", \"disks\": {\"path\": \"d\"}}",
		     "x.json: disks: must be an array of objects (got an object)"));
	CHECK(err_is("{\"kernel\": \"I\", \"disks\": [\"d.img\"]}",
		     "x.json: disks[0]: must be an object (got a string)"));
	CHECK(err_is("{\"kernel\": \"I\", \"disks\": [{\"readonly\": true}]}",
		     "x.json: disks[0].path: missing (the disk image file)"));
	CHECK(err_is("{\"kernel\": \"I\", \"cmdline\": [\"a\"]}",
		     "x.json: cmdline: must be a string (got an array)"));
}

TEST(config_strings_too_long)
{
	char j[4096], want[256];
	char big[1100];

	CHECK(err_is("{\"kernel\": \"I\", \"name\": \"abcdefghijklmnopqrstuvwxyz012345\"}",
		     "x.json: name: too long (32 bytes, at most 31)"));
	CHECK_EQ(parse("{\"kernel\": \"I\", \"name\": \"abcdefghijklmnopqrstuvwxyz01234\"}"), 1);
	CHECK(err_is("{\"kernel\": \"I\", \"name\": \"has space\"}",
		     "x.json: name: only letters, digits, '-', '_' and '.' allowed"));
	CHECK(err_is("{\"kernel\": \"I\", \"name\": \"\"}",
		     "x.json: name: must be 1..31 characters"));

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	snprintf(j, sizeof(j), "{\"kernel\": \"I\", \"cmdline\": \"%s\"}", big);
	CHECK(err_is(j, "x.json: cmdline: too long (1099 bytes, at most 1023)"));
	big[1023] = 0;
	snprintf(j, sizeof(j), "{\"kernel\": \"I\", \"cmdline\": \"%s\"}", big);
	CHECK_EQ(parse(j), 1);

	/* 252 bytes fit as written, but not once "/cfg/" is put in front. */
	big[252] = 0;
	snprintf(j, sizeof(j), "{\"kernel\": \"%s\"}", big);
	snprintf(want, sizeof(want),
		 "x.json: kernel: too long once made relative to /cfg (257 bytes, at most 255)");
	CHECK(err_is(j, want));
	snprintf(j, sizeof(j), "{\"kernel\": \"/%s\"}", big);
	CHECK_EQ(parse(j), 1);
	CHECK(err_has("{\"kernel\": \"I\", \"nets\": [{\"mode\": \"switch\", "
		      "\"switch\": \"a-very-long-switch-name-over-31-chars\"}]}",
		      "x.json: nets[0].switch: too long (37 bytes, at most 31)"));
}

TEST(config_mac_addresses)
{
	CHECK_EQ(parse("{\"kernel\": \"I\", \"nets\": [{\"mac\": \"02:00:00:00:00:01\"}]}"), 1);
	const char *bad[] = { "52:54:00:12:34",	   "52:54:00:12:34:56:78", "52-54-00-12-34-56",
			      "52:54:00:12:34:5g", "5:254:00:12:34:56",	   "",
			      "52:54:00:12:34:56 " };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char j[256];
		snprintf(j, sizeof(j), "{\"kernel\": \"I\", \"nets\": [{\"mac\": \"%s\"}]}",
			 bad[i]);
		CHECK(err_has(j, "x.json: nets[0].mac: must look like \"52:54:00:12:34:56\""));
	}
	CHECK(err_is("{\"kernel\": \"I\", \"nets\": [{\"mac\": \"01:00:5e:00:00:01\"}]}",
		     "x.json: nets[0].mac: must be a unicast address: first byte even (got "
		     "\"01:00:5e:00:00:01\")"));
	CHECK(err_is("{\"kernel\": \"I\", \"nets\": [{\"mac\": \"00:00:00:00:00:00\"}]}",
		     "x.json: nets[0].mac: must not be all zero"));
	CHECK(err_has("{\"kernel\": \"I\", \"nets\": [{\"mac\": 525400123456}]}",
		      "nets[0].mac: must be a string"));
}

/*
 * A non-hex digit in the HIGH nibble of any pair (fuzz_config regression
 * mac-bad-hex-digit-shift.json): hexval's -1 used to be shifted left before the check,
 * undefined behaviour that UBSan stops on. Each position must be rejected with the
 * format message, and a good address after such a rejection must still parse whole.
 */
TEST(config_mac_bad_high_nibble)
{
	for (int pair = 0; pair < 6; pair++) {
		for (const char *bad = "gz:- "; *bad; bad++) {
			char mac[18] = "52:54:00:12:34:56", j[256];
			mac[3 * pair] = *bad;
			snprintf(j, sizeof(j), "{\"kernel\": \"I\", \"nets\": [{\"mac\": \"%s\"}]}",
				 mac);
			CHECK(err_has(j, "x.json: nets[0].mac: must look like \"52:54:00:12:34:56\""));
		}
	}
	CHECK_EQ(parse("{\"kernel\": \"I\", \"nets\": [{\"mac\": \"fe:dc:ba:98:76:54\"}]}"), 1);
	CHECK(!memcmp(vms[0].nets[0].mac, "\xfe\xdc\xba\x98\x76\x54", 6));
}

/*
 * Errors quote keys and values from the file; JSON escapes can put any control
 * character in them. The message must stay one line (config.h, docs/config.md), with
 * each control character shown as '?'.
 */
TEST(config_error_with_control_characters_is_one_line)
{
	CHECK(err_is("{\"kernel\": \"I\", \"a\\nb\": 1}", "x.json: a?b: unknown key"));
	CHECK(err_is("{\"kernel\": \"I\", \"nets\": [{\"mac\": \"\\r\\n\\u001b[2J\"}]}",
		     "x.json: nets[0].mac: must look like \"52:54:00:12:34:56\" (got \"???[2J\")"));
	CHECK(err_has("{\"kernel\": \"I\", \"nets\": [{\"hostfwd\": [\"tcp::1-:2\\n\\t\"]}]}",
		      "nets[0].hostfwd"));
	CHECK(strchr(err, '?') && !strchr(err, '\t'));
	CHECK(err_has("{\"vms\": [{\"kernel\": \"I\", \"\\u007f\": 0}]}",
		      "x.json: vms[0].?: unknown key"));
}

TEST(config_hostfwd_rules)
{
	const char *good[] = { "tcp::8080-:80", "udp::53-:53", "::2222-:22",
			       "tcp:127.0.0.1:8080-10.0.2.15:80", "tcp:0.0.0.0:65535-:1" };
	const char *bad[] = { "tcp:8080-:80",
			      "tcp::8080:80",
			      "tcp::8080-80",
			      "sctp::1-:1",
			      "tcp::0-:80",
			      "tcp::65536-:80",
			      "tcp::80-:",
			      "tcp::-:80",
			      "tcp:1.2.3:80-:80",
			      "tcp:1.2.3.256:80-:80",
			      "tcp:a.b.c.d:80-:80",
			      "tcp::8080-:80x",
			      "tcp::+80-:80",
			      "tcp:1.2.3.4.5:1-:1",
			      "" };
	char j[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(j, sizeof(j), "{\"kernel\": \"I\", \"nets\": [{\"hostfwd\": [\"%s\"]}]}",
			 good[i]);
		if (parse(j) != 1) {
			printf("    good hostfwd rejected: %s (%s)\n", good[i], err);
			CHECK(0);
		}
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(j, sizeof(j),
			 "{\"kernel\": \"I\", \"nets\": [{\"hostfwd\": [\"tcp::1-:1\", \"%s\"]}]}",
			 bad[i]);
		CHECK(err_has(j, "x.json: nets[0].hostfwd[1]: must be "
				 "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport"));
	}
	CHECK(err_is("{\"kernel\": \"I\", \"nets\": [{\"mode\": \"tap\", \"tap\": \"t0\", "
		     "\"hostfwd\": [\"tcp::1-:1\"]}]}",
		     "x.json: nets[0].hostfwd: only for mode \"user\""));
	CHECK(err_is("{\"kernel\": \"I\", \"nets\": [{\"hostfwd\": \"tcp::1-:1\"}]}",
		     "x.json: nets[0].hostfwd: must be an array of strings (got a string)"));
	CHECK(err_has("{\"kernel\": \"I\", \"nets\": [{\"hostfwd\": [\"tcp::1-:1\", \"tcp::2-:2\", "
		      "\"tcp::3-:3\", \"tcp::4-:4\", \"tcp::5-:5\", \"tcp::6-:6\", \"tcp::7-:7\", "
		      "\"tcp::8-:8\", \"tcp::9-:9\"]}]}",
		      "nets[0].hostfwd: at most 8 forwards (got 9)"));
}

TEST(config_net_modes)
{
	CHECK(err_is(
		"{\"kernel\": \"I\", \"nets\": [{\"mode\": \"bridge\"}]}",
		"x.json: nets[0].mode: must be \"switch\", \"user\" or \"tap\" (got \"bridge\")"));
	CHECK(err_is("{\"kernel\": \"I\", \"nets\": [{\"mode\": \"switch\"}]}",
		     "x.json: nets[0].switch: missing (mode \"switch\" needs the switch's name)"));
	CHECK(err_is("{\"kernel\": \"I\", \"nets\": [{}, {\"mode\": \"tap\"}]}",
		     "x.json: nets[1].tap: missing (mode \"tap\" needs a host TAP device)"));
	CHECK(err_is("{\"kernel\": \"I\", \"nets\": [{\"switch\": \"lan\"}]}",
		     "x.json: nets[0].switch: only for mode \"switch\""));
	CHECK(err_is("{\"kernel\": \"I\", \"nets\": [{},{},{},{},{}]}",
		     "x.json: nets: at most 4 (got 5)"));
	CHECK(err_is("{\"kernel\": \"I\", \"nets\": [{},{},{}], \"disks\": [{\"path\": \"a\"}, "
		     "{\"path\": \"b\"}, {\"path\": \"c\"}, {\"path\": \"d\"}]}",
		     "x.json: disks/nets: at most 6 together (8 virtio slots, 2 kept for console "
		     "and rng)"));
}

TEST(config_vm_lists)
{
	CHECK(err_is("{\"vms\": []}", "x.json: vms: must hold 1..8 VMs (got 0)"));
	CHECK(err_is("{\"vms\": {}}",
		     "x.json: vms: must be an array of VM objects (got an object)"));
	CHECK(err_is("{\"vms\": [{\"kernel\": \"I\"}, 3]}",
		     "x.json: vms[1]: must be an object (got an integer)"));
	CHECK(err_is("{\"vms\": [{\"kernel\": \"I\", \"name\": \"a\"}, {\"kernel\": \"I\"}, "
		     "{\"kernel\": \"I\", \"name\": \"a\"}]}",
		     "x.json: vms[2].name: duplicate name \"a\" (also vms[0])"));
	CHECK(err_is("{\"vms\": [{\"kernel\": \"I\", \"name\": \"vm1\"}, {\"kernel\": \"I\"}]}",
		     "x.json: vms[1].name: duplicate name \"vm1\" (also vms[0])"));
	char j[1024] = "{\"vms\": [";
	for (int i = 0; i < 9; i++)
		strcat(j, i ? ", {\"kernel\": \"I\"}" : "{\"kernel\": \"I\"}");
	strcat(j, "]}");
	CHECK(err_is(j, "x.json: vms: must hold 1..8 VMs (got 9)"));
	j[strlen(j) - strlen(", {\"kernel\": \"I\"}]}")] = 0; /* drop the last VM */
	strcat(j, "]}");
	CHECK_EQ(parse(j), 8);
	CHECK(!strcmp(vms[7].name, "vm7"));
	/* The caller's room bounds the list; nothing is written past it. */
	CHECK_EQ(cfg_parse_string(j, "x.json", NULL, vms, 0, err, sizeof(err)), -1);
	CHECK_EQ(cfg_parse_string(NULL, "x.json", NULL, vms, 1, err, sizeof(err)), -1);
}

/*
 * Every example in configs/ must stay valid. The directory is found from the current
 * directory (make and tests/run_all.sh run from the repo root) or else from where this
 * binary sits (build/tests/unit_tests -> ../../configs).
 */
TEST(config_examples_parse)
{
	char dir[4096] = "configs", pat[4200];
	struct stat st;
	glob_t g;

	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 16);
		dir[n > 0 ? n : 0] = 0;
		for (int up = 0; up < 3; up++) {
			char *slash = strrchr(dir, '/');
			if (slash)
				*slash = 0;
		}
		strcat(dir, "/configs");
	}
	snprintf(pat, sizeof(pat), "%s/*.json", dir);
	CHECK_EQ(glob(pat, 0, NULL, &g), 0);
	CHECK(g.gl_pathc >= 4); /* demo, linux, full, lan, dedicated: found the right place */
	for (size_t i = 0; i < g.gl_pathc; i++) {
		int n = cfg_load_file(g.gl_pathv[i], vms, CFG_MAX_VMS, err, sizeof(err));
		if (n < 1)
			printf("    %s\n", err);
		CHECK(n >= 1);
		for (int k = 0; k < n; k++)
			CHECK(vms[k].kernel[0] == '/' || !strncmp(vms[k].kernel, dir, strlen(dir)));
	}
	if (g.gl_pathc)
		globfree(&g);
}
