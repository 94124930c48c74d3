/*
 * test_hostfwd.c - type 2's hostfwd parser (type2/host/hostfwd.c, QEMU's spelling
 * "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport"): good rules split into the
 * right fields, bad ones refused with a message that names the part at fault, and the
 * config parser's check (tools/config/config.c) accepting exactly the same table, so a
 * rule the config took never fails later when type 2 starts libslirp.
 *
 * The parser is compiled into this file (it is plain string work; the unit tests do not
 * link type 2's objects).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "../../type2/host/hostfwd.c"
#include "../../tools/config/config.h"
#include "harness.h"

static u32 ip(const char *s)
{
	return inet_addr(s);
}

struct good {
	const char *rule;
	bool udp;
	const char *haddr, *gaddr;
	u16 hport, gport;
};

static const struct good goods[] = {
	{ "tcp::8080-:80", false, "0.0.0.0", "10.0.2.15", 8080, 80 },
	{ "udp:127.0.0.1:5353-:53", true, "127.0.0.1", "10.0.2.15", 5353, 53 },
	{ "udp:127.0.0.1:5353-10.0.2.15:53", true, "127.0.0.1", "10.0.2.15", 5353, 53 },
	{ "::2222-:22", false, "0.0.0.0", "10.0.2.15", 2222, 22 },
	{ "tcp:0.0.0.0:1-10.0.2.99:65535", false, "0.0.0.0", "10.0.2.99", 1, 65535 },
	{ "tcp:255.255.255.255:65535-0.0.0.0:1", false, "255.255.255.255", "0.0.0.0", 65535, 1 },
};

TEST(hostfwd_good_rules)
{
	for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
		const struct good *g = &goods[i];
		struct t2_hostfwd f;
		char why[128] = "untouched";
		int r = t2_net_parse_hostfwd(g->rule, &f, why, sizeof(why));
		if (r)
			printf("    %s: %s\n", g->rule, why);
		CHECK_EQ(r, 0);
		CHECK_EQ(why[0], 0);
		CHECK_EQ(f.udp, g->udp);
		CHECK_EQ(f.haddr, ip(g->haddr));
		CHECK_EQ(f.gaddr, ip(g->gaddr));
		CHECK_EQ(f.hport, g->hport);
		CHECK_EQ(f.gport, g->gport);
	}
}

struct bad_rule {
	const char *rule, *why;
};

static const struct bad_rule bads[] = {
	{ "", "protocol \"\": expected tcp, udp or nothing" },
	{ "sctp::80-:80", "protocol \"sctp\": expected tcp, udp or nothing" },
	{ "TCP::80-:80", "protocol \"TCP\": expected tcp, udp or nothing" },
	{ "tcp8080-:80", "protocol \"tcp8080-\": expected tcp, udp or nothing" },
	{ "tcp::8080:80", "no '-' between the host side and the guest side" },
	{ "tcp::8080--:80", "more than one '-'" },
	{ "tcp::80-:80-:81", "more than one '-'" },
	{ "tcp:8080-:80", "host side \"8080\": expected [addr]:port" },
	{ "tcp::8080-80", "guest side \"80\": expected [addr]:port" },
	{ "tcp::-:80", "host port \"\": expected a decimal number 1..65535" },
	{ "tcp::0-:80", "host port \"0\": expected a decimal number 1..65535" },
	{ "tcp::65536-:80", "host port \"65536\": expected a decimal number 1..65535" },
	{ "tcp::123456-:80", "host port \"123456\": expected a decimal number 1..65535" },
	{ "tcp::8o80-:80", "host port \"8o80\": expected a decimal number 1..65535" },
	{ "tcp::+80-:80", "host port \"+80\": expected a decimal number 1..65535" },
	{ "tcp::8080-:", "guest port \"\": expected a decimal number 1..65535" },
	{ "tcp::8080-:0", "guest port \"0\": expected a decimal number 1..65535" },
	{ "tcp::8080-: 80", "guest port \" 80\": expected a decimal number 1..65535" },
	{ "tcp:localhost:80-:80",
	  "host address \"localhost\": expected empty or a dotted-quad IPv4 address" },
	{ "tcp:1.2.3:80-:80",
	  "host address \"1.2.3\": expected empty or a dotted-quad IPv4 address" },
	{ "tcp:1.2.3.4.5:80-:80",
	  "host address \"1.2.3.4.5\": expected empty or a dotted-quad IPv4 address" },
	{ "tcp:1.2.3.256:80-:80",
	  "host address \"1.2.3.256\": expected empty or a dotted-quad IPv4 address" },
	{ "tcp:1.2.3.:80-:80",
	  "host address \"1.2.3.\": expected empty or a dotted-quad IPv4 address" },
	{ "tcp:010.0.0.1:80-:80",
	  "host address \"010.0.0.1\": expected empty or a dotted-quad IPv4 address" },
	{ "tcp::80-10.0.2:80",
	  "guest address \"10.0.2\": expected empty or a dotted-quad IPv4 address" },
	{ "tcp::80-::1:80", "guest port \":1:80\": expected a decimal number 1..65535" },
};

TEST(hostfwd_bad_rules_say_why)
{
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct t2_hostfwd f;
		char why[128] = "";
		int r = t2_net_parse_hostfwd(bads[i].rule, &f, why, sizeof(why));
		CHECK_EQ(r, DUO_EINVAL);
		if (strcmp(why, bads[i].why)) {
			printf("    rule \"%s\"\n    got:  %s\n    want: %s\n", bads[i].rule, why,
			       bads[i].why);
			CHECK(!"message");
		}
	}
	/* why is optional and never overrun */
	struct t2_hostfwd f;
	char tiny[8];
	memset(tiny, 'x', sizeof(tiny));
	CHECK_EQ(t2_net_parse_hostfwd("bogus", &f, NULL, 0), DUO_EINVAL);
	CHECK_EQ(t2_net_parse_hostfwd("tcp::0-:80", &f, tiny, 4), DUO_EINVAL);
	CHECK_EQ(tiny[3], 0);
	CHECK_EQ(tiny[4], 'x');
}

/* Does the config parser take the rule (as the only hostfwd of a user-mode net)? */
static bool config_takes(const char *rule)
{
	static struct vm_config c[1];
	char json[256], err[512];
	snprintf(json, sizeof(json), "{\"kernel\": \"/k\", \"nets\": [{\"hostfwd\": [\"%s\"]}]}",
		 rule);
	return cfg_parse_string(json, "x.json", NULL, c, 1, err, sizeof(err)) == 1;
}

TEST(hostfwd_config_and_type2_agree)
{
	for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++)
		if (!config_takes(goods[i].rule)) {
			printf("    config refuses \"%s\"\n", goods[i].rule);
			CHECK(!"config takes every good rule");
		}
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++)
		if (config_takes(bads[i].rule)) {
			printf("    config takes \"%s\"\n", bads[i].rule);
			CHECK(!"config refuses every bad rule");
		}
}
