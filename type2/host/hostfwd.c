/*
 * hostfwd.c - type 2's parser for QEMU-spelled user-mode port forwards (net.h:
 * t2_net_parse_hostfwd), "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport".
 *
 * Kept apart from net.c (libslirp, threads) so that it is plain string work the unit
 * tests compile as they are (tests/unit/test_hostfwd.c). It accepts exactly what the
 * config parser's check accepts (tools/config/config.c, hostfwd_ok; the test holds the
 * two to the same table) and says what is wrong in one short phrase.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <duo/err.h>

#include "net.h"

#define GUEST_DEFAULT "10.0.2.15" /* libslirp's first DHCP address (net.c) */

static int bad(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return DUO_EINVAL;
}

/* parse_addr - empty (def) or a dotted quad: four decimal parts 0..255, no leading
 * zeros (QEMU reads "010" as octal 8; we refuse to guess). Network byte order. */
static int parse_addr(const char *s, size_t len, u32 def, u32 *out)
{
	u32 a = 0;
	size_t i = 0;
	if (len == 0) {
		*out = def;
		return 0;
	}
	for (int part = 0; part < 4; part++) {
		unsigned v = 0, digits = 0;
		if (part && (i >= len || s[i++] != '.'))
			return DUO_EINVAL;
		while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 4) {
			v = v * 10 + (unsigned)(s[i++] - '0');
			digits++;
		}
		if (!digits || digits > 3 || v > 255 || (digits > 1 && s[i - digits] == '0'))
			return DUO_EINVAL;
		a = a << 8 | v;
	}
	if (i != len)
		return DUO_EINVAL;
	*out = htonl(a);
	return 0;
}

static int parse_port(const char *s, size_t len, u16 *out)
{
	unsigned v = 0;
	if (len == 0 || len > 5)
		return DUO_EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return DUO_EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return DUO_EINVAL;
	*out = (u16)v;
	return 0;
}

/* parse_side - "addr:port" of length len; side is "host" or "guest" for messages. */
static int parse_side(const char *s, size_t len, const char *side, u32 def, u32 *addr, u16 *port,
		      char *why, size_t whylen)
{
	const char *colon = memchr(s, ':', len);
	if (!colon)
		return bad(why, whylen, "%s side \"%.*s\": expected [addr]:port", side, (int)len,
			   s);
	size_t alen = (size_t)(colon - s), plen = len - alen - 1;
	if (parse_addr(s, alen, def, addr))
		return bad(why, whylen,
			   "%s address \"%.*s\": expected empty or a dotted-quad IPv4 address",
			   side, (int)alen, s);
	if (parse_port(colon + 1, plen, port))
		return bad(why, whylen, "%s port \"%.*s\": expected a decimal number 1..65535",
			   side, (int)plen, colon + 1);
	return 0;
}

int t2_net_parse_hostfwd(const char *rule, struct t2_hostfwd *out, char *why, size_t whylen)
{
	const char *p = rule;
	memset(out, 0, sizeof(*out));
	if (why && whylen)
		why[0] = 0;
	if (!strncmp(p, "tcp:", 4)) {
		p += 4;
	} else if (!strncmp(p, "udp:", 4)) {
		out->udp = true;
		p += 4;
	} else if (*p == ':') {
		p += 1; /* protocol omitted: tcp */
	} else {
		const char *c = strchr(p, ':');
		return bad(why, whylen, "protocol \"%.*s\": expected tcp, udp or nothing",
			   (int)(c ? (size_t)(c - p) : strlen(p)), p);
	}
	const char *dash = strchr(p, '-');
	if (!dash)
		return bad(why, whylen, "no '-' between the host side and the guest side");
	if (strchr(dash + 1, '-'))
		return bad(why, whylen, "more than one '-'");
	int r = parse_side(p, (size_t)(dash - p), "host", htonl(INADDR_ANY), &out->haddr,
			   &out->hport, why, whylen);
	if (r)
		return r;
	return parse_side(dash + 1, strlen(dash + 1), "guest", inet_addr(GUEST_DEFAULT),
			  &out->gaddr, &out->gport, why, whylen);
}
