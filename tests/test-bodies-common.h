/* SPDX-License-Identifier: MIT */
/* Scenarios shared by the body tests: the golden matrix (every extension
 * state x every body type x both profiles) and the special cases. */
#ifndef TEST_BODIES_COMMON_H
#define TEST_BODIES_COMMON_H

#include <stdint.h>
#include <string.h>

#include <libsippresence/libsippresence.h>

/* ---- deterministic random source ----------------------------------------- */
static uint8_t tb_rnd[16] = {0x8f, 0x14, 0xe4, 0x5f, 0xce, 0xea, 0x16, 0x7a,
                             0x5a, 0x36, 0xde, 0xdd, 0x4b, 0xea, 0x25, 0x43};
static int tb_rnd_fail;
static unsigned tb_rnd_calls;

static int tb_random(void *ud, uint8_t *buf, size_t len)
{
	(void)ud;
	tb_rnd_calls++;
	if (tb_rnd_fail)
		return -1;
	for (size_t i = 0; i < len; i++)
		buf[i] = tb_rnd[i % sizeof(tb_rnd)];
	return 0;
}

static void tb_set_rnd_hex(const char *hex)
{
	for (size_t i = 0; i < 16; i++) {
		unsigned v;
		char two[3] = {hex[2 * i], hex[2 * i + 1], 0};
		v = (unsigned)strtoul(two, NULL, 16);
		tb_rnd[i] = (uint8_t)v;
	}
}

#define TB_DEFAULT_RND "8f14e45fceea167a5a36dedd4bea2543"

/* ---- scenarios ------------------------------------------------------------ */

struct tb_state {
	const char *name;   /* file name part */
	int32_t exten;      /* extension state */
	int32_t device;     /* state of the single device */
};

static const struct tb_state tb_states[] = {
	{"idle", SIPPRES_EXTEN_NOT_INUSE, SIPPRES_DEVICE_NOT_INUSE},
	{"inuse", SIPPRES_EXTEN_INUSE, SIPPRES_DEVICE_INUSE},
	{"busy", SIPPRES_EXTEN_BUSY, SIPPRES_DEVICE_BUSY},
	{"ringing", SIPPRES_EXTEN_RINGING, SIPPRES_DEVICE_RINGING},
	{"inuse-ringing", SIPPRES_EXTEN_INUSE | SIPPRES_EXTEN_RINGING, SIPPRES_DEVICE_RINGINUSE},
	{"hold", SIPPRES_EXTEN_ONHOLD, SIPPRES_DEVICE_ONHOLD},
	{"unavailable", SIPPRES_EXTEN_UNAVAILABLE, SIPPRES_DEVICE_UNAVAILABLE},
};
#define TB_N_STATES (sizeof(tb_states) / sizeof(tb_states[0]))

struct tb_type {
	const char *name;
	const char *content_type;
};

static const struct tb_type tb_types[] = {
	{"pidf", SIPPRES_CONTENT_TYPE_PIDF},
	{"xpidf", SIPPRES_CONTENT_TYPE_XPIDF},
	{"cpim-pidf", SIPPRES_CONTENT_TYPE_CPIM_PIDF},
	{"dialog-info", SIPPRES_CONTENT_TYPE_DIALOG_INFO},
};
#define TB_N_TYPES (sizeof(tb_types) / sizeof(tb_types[0]))

static const char *const tb_profiles[] = {"standard", "asterisk"};

/* A scenario owns its devices and calls. */
struct tb_case {
	char name[96];
	const char *content_type;
	const char *rnd_hex; /* NULL: TB_DEFAULT_RND */
	struct sippres_body_input in;
	struct sippres_device_info dev[2];
	struct sippres_call call[2];
};

static void tb_base(struct tb_case *c, uint32_t profile, const char *type, int32_t exten_state,
                    int32_t dev_state)
{
	memset(c, 0, sizeof(*c));
	c->content_type = type;
	c->in.size = sizeof(c->in);
	c->in.profile = profile;
	c->in.exten = "1000";
	c->in.local_uri = "sip:1000@192.0.2.10:5060";
	c->in.remote_uri = "sip:carol@192.0.2.20";
	c->in.user_agent = "Yealink SIP-T46S 66.86.0.15";
	c->in.exten_state = exten_state;
	c->in.presence_state = SIPPRES_PRESENCE_NOT_SET;
	c->dev[0].name = "PJSIP/alice";
	c->dev[0].state = dev_state;
	c->in.devices = c->dev;
	c->in.n_devices = 1;
	c->in.version = 4;
}

/* A ringing call from Alice (1001) to the device (Bob, 1000), as the host
 * would report it with sippres_call_set. */
static void tb_ringing_call(struct sippres_call *k)
{
	memset(k, 0, sizeof(*k));
	k->size = sizeof(*k);
	k->call_id = "a84b4c76e66710@pc33.example.com";
	k->local_tag = "1928301774";
	k->remote_tag = "456248";
	k->state = SIPPRES_CALL_EARLY;
	k->direction = SIPPRES_DIRECTION_RECIPIENT;
	k->local_uri = "1000";
	k->local_display = "Bob";
	k->remote_uri = "1001";
	k->remote_display = "Alice";
}

/* Hostile strings: every escape, control characters, invalid UTF-8, an
 * unpaired surrogate, U+FFFF, and valid multi-byte text. */
#define TB_HOSTILE_EXTEN "10\"0<0>&'\x01\x7f\xc3\xa9"
#define TB_HOSTILE_URI "sip:a&b<c>\"d'e@x.example.com;p=\x1b\xff\xed\xa0\x80"
#define TB_HOSTILE_TEXT "<b>Out & \"about\"</b> 'x' \r\n\t\x02 \xef\xbf\xbf \xe2\x82\xac \xc0\xaf end"

/* Fill case number i of the golden matrix; returns 0 when i is past the end. */
static int tb_case_get(size_t i, struct tb_case *c)
{
	size_t n_matrix = 2 * TB_N_STATES * TB_N_TYPES;

	if (i < n_matrix) {
		size_t p = i / (TB_N_STATES * TB_N_TYPES), r = i % (TB_N_STATES * TB_N_TYPES);
		const struct tb_type *t = &tb_types[r / TB_N_STATES];
		const struct tb_state *s = &tb_states[r % TB_N_STATES];

		tb_base(c, (uint32_t)p, t->content_type, s->exten, s->device);
		snprintf(c->name, sizeof(c->name), "%s/%s-%s", tb_profiles[p], t->name, s->name);
		return 1;
	}
	i -= n_matrix;

	/* Digium presence variants: every presence state, both profiles */
	if (i < 2 * 7) {
		static const char *const subs[7] = {NULL, NULL, "", "lunch", "vacation", NULL, "meeting"};
		static const char *const msgs[7] = {NULL, "Gone home", NULL, "banana", "Back on Monday", "Talk to me", NULL};
		uint32_t p = (uint32_t)(i / 7), ps = (uint32_t)(i % 7);

		tb_base(c, p, SIPPRES_CONTENT_TYPE_PIDF, SIPPRES_EXTEN_NOT_INUSE, SIPPRES_DEVICE_NOT_INUSE);
		c->in.user_agent = ps % 2 ? "Digium D65 2.9.14" : "SANGOMA P330 1.2";
		c->in.presence_state = ps;
		c->in.presence_subtype = subs[ps];
		c->in.presence_message = msgs[ps];
		snprintf(c->name, sizeof(c->name), "%s/pidf-digium-%s", tb_profiles[p], sippres_presence_state_name((int)ps));
		return 1;
	}
	i -= 2 * 7;

	/* presence without a Digium phone: RPID activities in standard, nothing in asterisk */
	if (i < 2 * 3) {
		static const uint32_t ps[3] = {SIPPRES_PRESENCE_AWAY, SIPPRES_PRESENCE_DND, SIPPRES_PRESENCE_XA};
		uint32_t p = (uint32_t)(i / 3);

		tb_base(c, p, SIPPRES_CONTENT_TYPE_PIDF, SIPPRES_EXTEN_INUSE, SIPPRES_DEVICE_INUSE);
		c->in.presence_state = ps[i % 3];
		if (ps[i % 3] == SIPPRES_PRESENCE_AWAY) {
			c->in.presence_subtype = "lunch";
			c->in.presence_message = "Out to lunch";
		}
		snprintf(c->name, sizeof(c->name), "%s/pidf-presence-%s", tb_profiles[p],
		         sippres_presence_state_name((int)ps[i % 3]));
		return 1;
	}
	i -= 2 * 3;

	/* ringing with a caller identity, a restricted caller; every type for the
	 * caller case (dialog-info is the one that shows it) */
	if (i < 2 * 3) {
		uint32_t p = (uint32_t)(i / 3);
		size_t k = i % 3;

		tb_base(c, p, SIPPRES_CONTENT_TYPE_DIALOG_INFO, SIPPRES_EXTEN_RINGING, SIPPRES_DEVICE_RINGING);
		c->in.local_uri = "sip:1000@pbx.example.com";
		tb_ringing_call(&c->call[0]);
		c->dev[0].causing_call = &c->call[0];
		c->in.causing_call = &c->call[0];
		if (k == 0) {
			snprintf(c->name, sizeof(c->name), "%s/dialog-info-ringing-caller", tb_profiles[p]);
		} else if (k == 1) {
			c->call[0].flags = SIPPRES_CALL_NUMBER_RESTRICTED;
			snprintf(c->name, sizeof(c->name), "%s/dialog-info-ringing-restricted", tb_profiles[p]);
		} else {
			c->call[0].flags = SIPPRES_CALL_NUMBER_RESTRICTED | SIPPRES_CALL_NAME_RESTRICTED;
			snprintf(c->name, sizeof(c->name), "%s/dialog-info-ringing-anonymous", tb_profiles[p]);
		}
		return 1;
	}
	i -= 2 * 3;

	/* hostile strings in every field of every type (and PIDF once more for a
	 * non-Digium phone, so that the standard one is schema-checked) */
	if (i < 2 * (TB_N_TYPES + 1)) {
		uint32_t p = (uint32_t)(i / (TB_N_TYPES + 1));
		size_t k = i % (TB_N_TYPES + 1);
		const struct tb_type *t = &tb_types[k < TB_N_TYPES ? k : 0];

		tb_base(c, p, t->content_type, SIPPRES_EXTEN_RINGING, SIPPRES_DEVICE_RINGING);
		c->in.exten = TB_HOSTILE_EXTEN;
		c->in.local_uri = TB_HOSTILE_URI;
		c->in.remote_uri = TB_HOSTILE_URI;
		c->in.domain = "d&<\"'>.example.com";
		c->in.user_agent = "digium<\x01>";
		c->in.presence_state = SIPPRES_PRESENCE_DND;
		c->in.presence_subtype = TB_HOSTILE_TEXT;
		c->in.presence_message = TB_HOSTILE_TEXT;
		tb_ringing_call(&c->call[0]);
		c->call[0].call_id = "c<&>\"'\x03@h";
		c->call[0].local_tag = "t\"1";
		c->call[0].remote_tag = "t'2&";
		c->call[0].local_uri = TB_HOSTILE_URI;
		c->call[0].local_display = TB_HOSTILE_TEXT;
		c->call[0].remote_uri = "10<0>1";
		c->call[0].remote_display = TB_HOSTILE_TEXT;
		c->dev[0].causing_call = &c->call[0];
		c->in.causing_call = &c->call[0];
		snprintf(c->name, sizeof(c->name), "%s/%s-hostile%s", tb_profiles[p], t->name,
		         k < TB_N_TYPES ? "" : "-rpid");
		if (k == TB_N_TYPES)
			c->in.user_agent = "Yealink \"<&>\"";
		return 1;
	}
	i -= 2 * (TB_N_TYPES + 1);

	/* vendor options and pickup data (dialog-info) */
	switch (i) {
	case 0: /* dummy idle dialog */
	case 1:
		tb_base(c, (uint32_t)i, SIPPRES_CONTENT_TYPE_DIALOG_INFO, SIPPRES_EXTEN_NOT_INUSE, SIPPRES_DEVICE_NOT_INUSE);
		c->in.flags = SIPPRES_BODY_DUMMY_DIALOG;
		snprintf(c->name, sizeof(c->name), "%s/dialog-info-idle-dummy", tb_profiles[i]);
		return 1;
	case 2: /* ring while busy, early option, no call details */
	case 3:
		tb_base(c, (uint32_t)(i - 2), SIPPRES_CONTENT_TYPE_DIALOG_INFO, SIPPRES_EXTEN_INUSE | SIPPRES_EXTEN_RINGING,
		        SIPPRES_DEVICE_RINGINUSE);
		c->in.flags = SIPPRES_BODY_EARLY_INUSE_RINGING;
		snprintf(c->name, sizeof(c->name), "%s/dialog-info-inuse-ringing-early", tb_profiles[i - 2]);
		return 1;
	case 4: /* ring while busy with both calls known: two dialogs (standard) */
	case 5: /* ... and single dialog: the early one wins */
	case 6: /* asterisk profile, same facts, early option */
		tb_base(c, i == 6 ? SIPPRES_PROFILE_ASTERISK : SIPPRES_PROFILE_STANDARD, SIPPRES_CONTENT_TYPE_DIALOG_INFO,
		        SIPPRES_EXTEN_INUSE | SIPPRES_EXTEN_RINGING, SIPPRES_DEVICE_INUSE);
		c->in.local_uri = "sip:1000@pbx.example.com";
		memset(&c->call[0], 0, sizeof(c->call[0]));
		c->call[0].size = sizeof(c->call[0]);
		c->call[0].call_id = "f81d4fae-7dec-11d0-a765-00a0c91e6bf6";
		c->call[0].local_tag = "as5f1e";
		c->call[0].remote_tag = "1234abcd";
		c->call[0].state = SIPPRES_CALL_CONFIRMED;
		c->call[0].direction = SIPPRES_DIRECTION_INITIATOR;
		c->call[0].remote_uri = "sip:2000@pbx.example.com";
		c->call[0].remote_display = "Carol";
		tb_ringing_call(&c->call[1]);
		c->dev[0].causing_call = &c->call[0];
		c->dev[1].name = "PJSIP/bob";
		c->dev[1].state = SIPPRES_DEVICE_RINGING;
		c->dev[1].causing_call = &c->call[1];
		c->in.n_devices = 2;
		c->in.causing_call = &c->call[1];
		if (i == 5)
			c->in.flags = SIPPRES_BODY_SINGLE_DIALOG;
		if (i == 6)
			c->in.flags = SIPPRES_BODY_EARLY_INUSE_RINGING;
		snprintf(c->name, sizeof(c->name), "%s/dialog-info-ring-while-busy-calls%s",
		         i == 6 ? "asterisk" : "standard", i == 5 ? "-single" : "");
		return 1;
	case 7: /* held call with pickup data */
	case 8:
		tb_base(c, (uint32_t)(i - 7), SIPPRES_CONTENT_TYPE_DIALOG_INFO, SIPPRES_EXTEN_ONHOLD, SIPPRES_DEVICE_ONHOLD);
		c->in.local_uri = "sip:1000@pbx.example.com";
		tb_ringing_call(&c->call[0]);
		c->call[0].state = SIPPRES_CALL_HELD;
		c->dev[0].causing_call = &c->call[0];
		snprintf(c->name, sizeof(c->name), "%s/dialog-info-hold-call", tb_profiles[i - 7]);
		return 1;
	default:
		break;
	}
	i -= 9;

	/* bodies as Asterisk sends them (captured examples and its testsuite
	 * templates), typed by hand */
	switch (i) {
	case 0:
		tb_base(c, SIPPRES_PROFILE_ASTERISK, SIPPRES_CONTENT_TYPE_PIDF, SIPPRES_EXTEN_INUSE, SIPPRES_DEVICE_INUSE);
		snprintf(c->name, sizeof(c->name), "asterisk/ref-example-a-pidf");
		return 1;
	case 1:
		tb_base(c, SIPPRES_PROFILE_ASTERISK, SIPPRES_CONTENT_TYPE_PIDF, SIPPRES_EXTEN_INUSE, SIPPRES_DEVICE_INUSE);
		c->in.user_agent = "Digium D65";
		c->in.presence_state = SIPPRES_PRESENCE_AWAY;
		c->in.presence_subtype = "lunch";
		c->in.presence_message = "Out to lunch";
		snprintf(c->name, sizeof(c->name), "asterisk/ref-example-b-pidf-digium");
		return 1;
	case 2:
	case 3:
		tb_base(c, SIPPRES_PROFILE_ASTERISK, i == 2 ? SIPPRES_CONTENT_TYPE_XPIDF : SIPPRES_CONTENT_TYPE_CPIM_PIDF,
		        SIPPRES_EXTEN_INUSE, SIPPRES_DEVICE_INUSE);
		c->rnd_hex = "c9a1d8e2f0b34f57a6f1e0d2c3b4a596";
		snprintf(c->name, sizeof(c->name), "asterisk/ref-example-c-%s", i == 2 ? "xpidf" : "cpim-pidf");
		return 1;
	case 4:
	case 5:
	case 6:
	case 7: {
		static const char *const nm[4] = {"idle", "ringing", "inuse", "hold"};
		static const int32_t es[4] = {SIPPRES_EXTEN_NOT_INUSE, SIPPRES_EXTEN_RINGING, SIPPRES_EXTEN_INUSE,
		                              SIPPRES_EXTEN_ONHOLD};
		static const int32_t ds[4] = {SIPPRES_DEVICE_NOT_INUSE, SIPPRES_DEVICE_RINGING, SIPPRES_DEVICE_INUSE,
		                              SIPPRES_DEVICE_ONHOLD};
		tb_base(c, SIPPRES_PROFILE_ASTERISK, SIPPRES_CONTENT_TYPE_DIALOG_INFO, es[i - 4], ds[i - 4]);
		c->in.exten = "presence";
		c->in.local_uri = "sip:presence@127.0.0.1:5060";
		c->dev[0].name = "Custom:presence";
		c->in.version = (uint32_t)(i - 4);
		snprintf(c->name, sizeof(c->name), "asterisk/ref-testsuite-dialog-info-%s", nm[i - 4]);
		return 1;
	}
	case 8:
	case 9:
		tb_base(c, SIPPRES_PROFILE_ASTERISK, SIPPRES_CONTENT_TYPE_DIALOG_INFO, SIPPRES_EXTEN_RINGING,
		        SIPPRES_DEVICE_RINGING);
		c->in.local_uri = "sip:1000@pbx.example.com";
		c->dev[0].name = "PJSIP/bob";
		tb_ringing_call(&c->call[0]);
		if (i == 9)
			c->call[0].flags = SIPPRES_CALL_NUMBER_RESTRICTED;
		c->dev[0].causing_call = &c->call[0];
		c->in.causing_call = &c->call[0];
		c->in.version = 5;
		snprintf(c->name, sizeof(c->name), "asterisk/ref-example-d-dialog-info%s", i == 9 ? "-restricted" : "");
		return 1;
	default:
		return 0;
	}
}

#endif
