/* SPDX-License-Identifier: MIT */
/* Frozen ABI of the public header, after wayland-egl-abi-check.c: the size and
 * offset of every member of every public struct, and the value of every public
 * enum constant, error code and numeric macro, as released, on LP64 (x86_64,
 * aarch64, ...). A change here is an ABI break for binaries built against an
 * older header, so these numbers are only ever appended to: a member appended
 * to a size-prefixed struct gets a new MEMBER line (and a new sizeof), a new
 * constant a new line. tests/header-check.py (layout-coverage) makes sure
 * every struct member and constant of the header appears here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include <libsippresence/libsippresence.h>

struct member {
	const char *name;
	size_t offset, frozen_offset;
	size_t size, frozen_size;
};

#define MEMBER(type, m, off, sz) \
	{#m, offsetof(struct type, m), (off), sizeof(((struct type *)0)->m), (sz)}

/* Report every difference of one struct, then fail if there was any. */
static void check_struct(const char *type, size_t size, size_t frozen_size, const struct member *m, size_t n)
{
	int bad = 0;

	if (size != frozen_size) {
		print_error("struct %s: sizeof is %zu, frozen at %zu\n", type, size, frozen_size);
		bad++;
	}
	for (size_t i = 0; i < n; i++) {
		if (m[i].offset != m[i].frozen_offset) {
			print_error("struct %s: offsetof(%s) is %zu, frozen at %zu\n", type, m[i].name, m[i].offset,
			            m[i].frozen_offset);
			bad++;
		}
		if (m[i].size != m[i].frozen_size) {
			print_error("struct %s: sizeof(%s) is %zu, frozen at %zu\n", type, m[i].name, m[i].size,
			            m[i].frozen_size);
			bad++;
		}
	}
	if (bad)
		fail_msg("struct %s: %d layout difference(s) from the frozen ABI", type, bad);
}

#define CHECK_STRUCT(type, frozen_size, members) \
	check_struct(#type, sizeof(struct type), (frozen_size), (members), sizeof(members) / sizeof((members)[0]))

static void test_allocator(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_allocator, size, 0, 8),
		MEMBER(sippres_allocator, user_data, 8, 8),
		MEMBER(sippres_allocator, malloc, 16, 8),
		MEMBER(sippres_allocator, realloc, 24, 8),
		MEMBER(sippres_allocator, free, 32, 8),
	};
	(void)state;
	CHECK_STRUCT(sippres_allocator, 40, m);
}

static void test_config(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_config, size, 0, 8),
		MEMBER(sippres_config, allocator, 8, 8),
		MEMBER(sippres_config, log_level, 16, 4),
		MEMBER(sippres_config, flags, 20, 4),
		MEMBER(sippres_config, max_pattern_instances, 24, 4),
	};
	(void)state;
	CHECK_STRUCT(sippres_config, 32, m);
}

static void test_callbacks(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_callbacks, size, 0, 8),
		MEMBER(sippres_callbacks, log, 8, 8),
		MEMBER(sippres_callbacks, random, 16, 8),
		MEMBER(sippres_callbacks, notify, 24, 8),
		MEMBER(sippres_callbacks, persist, 32, 8),
		MEMBER(sippres_callbacks, forget, 40, 8),
		MEMBER(sippres_callbacks, persist_publication, 48, 8),
		MEMBER(sippres_callbacks, forget_publication, 56, 8),
		MEMBER(sippres_callbacks, publish, 64, 8),
		MEMBER(sippres_callbacks, replicate, 72, 8),
	};
	(void)state;
	CHECK_STRUCT(sippres_callbacks, 80, m);
}

static void test_diag(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_diag, size, 0, 8),
		MEMBER(sippres_diag, line, 8, 4),
		MEMBER(sippres_diag, column, 12, 4),
		MEMBER(sippres_diag, message, 16, 256),
	};
	(void)state;
	CHECK_STRUCT(sippres_diag, 272, m);
}

static void test_call(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_call, size, 0, 8),
		MEMBER(sippres_call, call_id, 8, 8),
		MEMBER(sippres_call, local_tag, 16, 8),
		MEMBER(sippres_call, remote_tag, 24, 8),
		MEMBER(sippres_call, state, 32, 4),
		MEMBER(sippres_call, direction, 36, 4),
		MEMBER(sippres_call, flags, 40, 4),
		MEMBER(sippres_call, local_uri, 48, 8),
		MEMBER(sippres_call, local_display, 56, 8),
		MEMBER(sippres_call, remote_uri, 64, 8),
		MEMBER(sippres_call, remote_display, 72, 8),
	};
	(void)state;
	CHECK_STRUCT(sippres_call, 80, m);
}

/* Not size-prefixed: an array element (sippres_exten_status.devices), so it
 * can never grow within soname 0. */
static void test_device_info(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_device_info, name, 0, 8),
		MEMBER(sippres_device_info, state, 8, 4),
		MEMBER(sippres_device_info, causing_call, 16, 8),
	};
	(void)state;
	CHECK_STRUCT(sippres_device_info, 24, m);
}

static void test_exten_status(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_exten_status, size, 0, 8),
		MEMBER(sippres_exten_status, context, 8, 8),
		MEMBER(sippres_exten_status, exten, 16, 8),
		MEMBER(sippres_exten_status, value, 24, 8),
		MEMBER(sippres_exten_status, display_name, 32, 8),
		MEMBER(sippres_exten_status, reason, 40, 4),
		MEMBER(sippres_exten_status, exten_state, 44, 4),
		MEMBER(sippres_exten_status, device_state, 48, 4),
		MEMBER(sippres_exten_status, presence_state, 52, 4),
		MEMBER(sippres_exten_status, presence_subtype, 56, 8),
		MEMBER(sippres_exten_status, presence_message, 64, 8),
		MEMBER(sippres_exten_status, devices, 72, 8),
		MEMBER(sippres_exten_status, n_devices, 80, 8),
		MEMBER(sippres_exten_status, causing_call, 88, 8),
		MEMBER(sippres_exten_status, is_pattern, 96, 4),
		MEMBER(sippres_exten_status, is_autohint, 100, 4),
	};
	(void)state;
	CHECK_STRUCT(sippres_exten_status, 104, m);
}

static void test_body_input(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_body_input, size, 0, 8),
		MEMBER(sippres_body_input, profile, 8, 4),
		MEMBER(sippres_body_input, flags, 12, 4),
		MEMBER(sippres_body_input, exten, 16, 8),
		MEMBER(sippres_body_input, local_uri, 24, 8),
		MEMBER(sippres_body_input, remote_uri, 32, 8),
		MEMBER(sippres_body_input, domain, 40, 8),
		MEMBER(sippres_body_input, user_agent, 48, 8),
		MEMBER(sippres_body_input, exten_state, 56, 4),
		MEMBER(sippres_body_input, presence_state, 60, 4),
		MEMBER(sippres_body_input, presence_subtype, 64, 8),
		MEMBER(sippres_body_input, presence_message, 72, 8),
		MEMBER(sippres_body_input, devices, 80, 8),
		MEMBER(sippres_body_input, n_devices, 88, 8),
		MEMBER(sippres_body_input, causing_call, 96, 8),
		MEMBER(sippres_body_input, version, 104, 4),
	};
	(void)state;
	CHECK_STRUCT(sippres_body_input, 112, m);
}

static void test_body(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_body, size, 0, 8),
		MEMBER(sippres_body, content_type, 8, 8),
		MEMBER(sippres_body, data, 16, 8),
		MEMBER(sippres_body, len, 24, 8),
		MEMBER(sippres_body, version_offset, 32, 8),
		MEMBER(sippres_body, version_len, 40, 8),
	};
	(void)state;
	CHECK_STRUCT(sippres_body, 48, m);
}

static void test_endpoint(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_endpoint, size, 0, 8),
		MEMBER(sippres_endpoint, context, 8, 8),
		MEMBER(sippres_endpoint, subscribe_context, 16, 8),
		MEMBER(sippres_endpoint, profile, 24, 4),
		MEMBER(sippres_endpoint, flags, 28, 4),
		MEMBER(sippres_endpoint, body_options, 32, 4),
		MEMBER(sippres_endpoint, sub_min_expiry, 36, 4),
		MEMBER(sippres_endpoint, max_expiry, 40, 4),
		MEMBER(sippres_endpoint, default_expiry, 44, 4),
		MEMBER(sippres_endpoint, notify_failure_limit, 48, 4),
		MEMBER(sippres_endpoint, max_notify_size, 52, 4),
		MEMBER(sippres_endpoint, callerid, 56, 8),
		MEMBER(sippres_endpoint, auth, 64, 8),
	};
	(void)state;
	CHECK_STRUCT(sippres_endpoint, 72, m);
}

static void test_subscribe_req(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_subscribe_req, size, 0, 8),
		MEMBER(sippres_subscribe_req, endpoint, 8, 8),
		MEMBER(sippres_subscribe_req, ruri_scheme, 16, 8),
		MEMBER(sippres_subscribe_req, ruri_user, 24, 8),
		MEMBER(sippres_subscribe_req, ruri_host, 32, 8),
		MEMBER(sippres_subscribe_req, ruri_port, 40, 4),
		MEMBER(sippres_subscribe_req, flags, 44, 4),
		MEMBER(sippres_subscribe_req, from_uri, 48, 8),
		MEMBER(sippres_subscribe_req, from_tag, 56, 8),
		MEMBER(sippres_subscribe_req, call_id, 64, 8),
		MEMBER(sippres_subscribe_req, contact, 72, 8),
		MEMBER(sippres_subscribe_req, event, 80, 8),
		MEMBER(sippres_subscribe_req, event_id, 88, 8),
		MEMBER(sippres_subscribe_req, accept, 96, 8),
		MEMBER(sippres_subscribe_req, n_accept, 104, 8),
		MEMBER(sippres_subscribe_req, expires, 112, 8),
		MEMBER(sippres_subscribe_req, user_agent, 120, 8),
		MEMBER(sippres_subscribe_req, local_tag, 128, 8),
	};
	(void)state;
	CHECK_STRUCT(sippres_subscribe_req, 136, m);
}

static void test_subscribe_res(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_subscribe_res, size, 0, 8),
		MEMBER(sippres_subscribe_res, status, 8, 4),
		MEMBER(sippres_subscribe_res, reason, 16, 8),
		MEMBER(sippres_subscribe_res, expires, 24, 4),
		MEMBER(sippres_subscribe_res, min_expires, 28, 4),
		MEMBER(sippres_subscribe_res, require_eventlist, 32, 4),
		MEMBER(sippres_subscribe_res, local_tag, 40, 8),
		MEMBER(sippres_subscribe_res, allow_events, 48, 8),
		MEMBER(sippres_subscribe_res, accept, 56, 8),
	};
	(void)state;
	CHECK_STRUCT(sippres_subscribe_res, 64, m);
}

static void test_notify(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_notify, size, 0, 8),
		MEMBER(sippres_notify, reason, 8, 4),
		MEMBER(sippres_notify, cseq, 12, 4),
		MEMBER(sippres_notify, terminated, 16, 4),
		MEMBER(sippres_notify, require_eventlist, 20, 4),
		MEMBER(sippres_notify, event, 24, 8),
		MEMBER(sippres_notify, subscription_state, 32, 8),
		MEMBER(sippres_notify, content_type, 40, 8),
		MEMBER(sippres_notify, body, 48, 8),
		MEMBER(sippres_notify, body_len, 56, 8),
		MEMBER(sippres_notify, call_id, 64, 8),
		MEMBER(sippres_notify, local_tag, 72, 8),
		MEMBER(sippres_notify, remote_tag, 80, 8),
		MEMBER(sippres_notify, remote_uri, 88, 8),
		MEMBER(sippres_notify, local_uri, 96, 8),
		MEMBER(sippres_notify, contact, 104, 8),
	};
	(void)state;
	CHECK_STRUCT(sippres_notify, 112, m);
}

static void test_sub_info(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_sub_info, size, 0, 8),
		MEMBER(sippres_sub_info, endpoint, 8, 8),
		MEMBER(sippres_sub_info, context, 16, 8),
		MEMBER(sippres_sub_info, resource, 24, 8),
		MEMBER(sippres_sub_info, event, 32, 8),
		MEMBER(sippres_sub_info, event_id, 40, 8),
		MEMBER(sippres_sub_info, content_type, 48, 8),
		MEMBER(sippres_sub_info, call_id, 56, 8),
		MEMBER(sippres_sub_info, local_tag, 64, 8),
		MEMBER(sippres_sub_info, remote_tag, 72, 8),
		MEMBER(sippres_sub_info, remote_uri, 80, 8),
		MEMBER(sippres_sub_info, local_uri, 88, 8),
		MEMBER(sippres_sub_info, contact, 96, 8),
		MEMBER(sippres_sub_info, user_agent, 104, 8),
		MEMBER(sippres_sub_info, expires_at_ms, 112, 8),
		MEMBER(sippres_sub_info, next_cseq, 120, 4),
		MEMBER(sippres_sub_info, profile, 124, 4),
		MEMBER(sippres_sub_info, version, 128, 4),
		MEMBER(sippres_sub_info, exten_state, 132, 4),
		MEMBER(sippres_sub_info, is_list, 136, 4),
		MEMBER(sippres_sub_info, endpoint_cid_name, 144, 8),
		MEMBER(sippres_sub_info, endpoint_cid_number, 152, 8),
	};
	(void)state;
	CHECK_STRUCT(sippres_sub_info, 160, m);
}

static void test_list(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_list, size, 0, 8),
		MEMBER(sippres_list, name, 8, 8),
		MEMBER(sippres_list, event, 16, 8),
		MEMBER(sippres_list, items, 24, 8),
		MEMBER(sippres_list, n_items, 32, 8),
		MEMBER(sippres_list, full_state, 40, 4),
		MEMBER(sippres_list, batch_interval_ms, 44, 4),
		MEMBER(sippres_list, resource_display_name, 48, 4),
	};
	(void)state;
	CHECK_STRUCT(sippres_list, 56, m);
}

struct constant {
	const char *name;
	long long value, frozen;
};

#define CONSTANT(c, v) {#c, (long long)(c), (v)}

static void check_constants(const char *what, const struct constant *c, size_t n)
{
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		if (c[i].value != c[i].frozen) {
			print_error("%s: %s is %lld, frozen at %lld\n", what, c[i].name, c[i].value, c[i].frozen);
			bad++;
		}
	}
	if (bad)
		fail_msg("%s: %d value(s) differ from the frozen ABI", what, bad);
}

#define CHECK_CONSTANTS(what, table) check_constants((what), (table), sizeof(table) / sizeof((table)[0]))

/* Never renumbered, never reused. */
static void test_config_io(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_config_io, size, 0, 8),
		MEMBER(sippres_config_io, user_data, 8, 8),
		MEMBER(sippres_config_io, include, 16, 8),
		MEMBER(sippres_config_io, release, 24, 8),
		MEMBER(sippres_config_io, problem, 32, 8),
		MEMBER(sippres_config_io, loaded, 40, 8),
		MEMBER(sippres_config_io, outbound_publish, 48, 8),
		MEMBER(sippres_config_io, transport, 56, 8),
	};
	(void)state;
	CHECK_STRUCT(sippres_config_io, 64, m);
}

static void test_inbound_publication(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_inbound_publication, size, 0, 8),
		MEMBER(sippres_inbound_publication, endpoint, 8, 8),
		MEMBER(sippres_inbound_publication, events, 16, 4),
		MEMBER(sippres_inbound_publication, min_expiry, 20, 4),
		MEMBER(sippres_inbound_publication, max_expiry, 24, 4),
		MEMBER(sippres_inbound_publication, default_expiry, 28, 4),
		MEMBER(sippres_inbound_publication, device_state_filter, 32, 8),
		MEMBER(sippres_inbound_publication, devicestate_publish, 40, 8),
	};
	(void)state;
	CHECK_STRUCT(sippres_inbound_publication, 48, m);
}

static void test_publish_req(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_publish_req, size, 0, 8),
		MEMBER(sippres_publish_req, endpoint, 8, 8),
		MEMBER(sippres_publish_req, resource, 16, 8),
		MEMBER(sippres_publish_req, event, 24, 8),
		MEMBER(sippres_publish_req, expires, 32, 8),
		MEMBER(sippres_publish_req, if_match, 40, 8),
		MEMBER(sippres_publish_req, content_type, 48, 8),
		MEMBER(sippres_publish_req, body, 56, 8),
		MEMBER(sippres_publish_req, body_len, 64, 8),
	};
	(void)state;
	CHECK_STRUCT(sippres_publish_req, 72, m);
}

static void test_publish_res(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_publish_res, size, 0, 8),
		MEMBER(sippres_publish_res, status, 8, 4),
		MEMBER(sippres_publish_res, reason, 16, 8),
		MEMBER(sippres_publish_res, etag, 24, 8),
		MEMBER(sippres_publish_res, expires, 32, 4),
		MEMBER(sippres_publish_res, min_expires, 36, 4),
		MEMBER(sippres_publish_res, allow_events, 40, 8),
		MEMBER(sippres_publish_res, accept, 48, 8),
	};
	(void)state;
	CHECK_STRUCT(sippres_publish_res, 56, m);
}

static void test_publication_info(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_publication_info, size, 0, 8),
		MEMBER(sippres_publication_info, resource, 8, 8),
		MEMBER(sippres_publication_info, event, 16, 8),
		MEMBER(sippres_publication_info, endpoint, 24, 8),
		MEMBER(sippres_publication_info, etag, 32, 8),
		MEMBER(sippres_publication_info, content_type, 40, 8),
		MEMBER(sippres_publication_info, expires_at_ms, 48, 8),
		MEMBER(sippres_publication_info, body_len, 56, 8),
	};
	(void)state;
	CHECK_STRUCT(sippres_publication_info, 64, m);
}

static void test_outbound_publish(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_outbound_publish, size, 0, 8),
		MEMBER(sippres_outbound_publish, device_state_filter, 8, 8),
	};
	(void)state;
	CHECK_STRUCT(sippres_outbound_publish, 16, m);
}

static void test_conf_outbound_publish(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_conf_outbound_publish, size, 0, 8),
		MEMBER(sippres_conf_outbound_publish, server_uri, 8, 8),
		MEMBER(sippres_conf_outbound_publish, from_uri, 16, 8),
		MEMBER(sippres_conf_outbound_publish, to_uri, 24, 8),
		MEMBER(sippres_conf_outbound_publish, event, 32, 8),
		MEMBER(sippres_conf_outbound_publish, expiration, 40, 4),
	};
	(void)state;
	CHECK_STRUCT(sippres_conf_outbound_publish, 48, m);
}

static void test_conf_transport(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_conf_transport, size, 0, 8),
		MEMBER(sippres_conf_transport, protocol, 8, 8),
		MEMBER(sippres_conf_transport, bind, 16, 8),
		MEMBER(sippres_conf_transport, cert_file, 24, 8),
		MEMBER(sippres_conf_transport, priv_key_file, 32, 8),
		MEMBER(sippres_conf_transport, ca_list_file, 40, 8),
		MEMBER(sippres_conf_transport, ca_list_path, 48, 8),
		MEMBER(sippres_conf_transport, verify_client, 56, 4),
		MEMBER(sippres_conf_transport, require_client_cert, 60, 4),
		MEMBER(sippres_conf_transport, method, 64, 8),
		MEMBER(sippres_conf_transport, cipher, 72, 8),
	};
	(void)state;
	CHECK_STRUCT(sippres_conf_transport, 80, m);
}

static void test_auth(void **state)
{
	static const struct member a[] = {
		MEMBER(sippres_auth, size, 0, 8),
		MEMBER(sippres_auth, type, 8, 4),
		MEMBER(sippres_auth, algorithms, 12, 4),
		MEMBER(sippres_auth, username, 16, 8),
		MEMBER(sippres_auth, password, 24, 8),
		MEMBER(sippres_auth, md5_cred, 32, 8),
		MEMBER(sippres_auth, realm, 40, 8),
		MEMBER(sippres_auth, nonce_lifetime, 48, 4),
	};
	static const struct member i[] = {
		MEMBER(sippres_identify, size, 0, 8),
		MEMBER(sippres_identify, endpoint, 8, 8),
		MEMBER(sippres_identify, match, 16, 8),
		MEMBER(sippres_identify, n_match, 24, 8),
	};
	static const struct member c[] = {
		MEMBER(sippres_auth_credential, username, 0, 8),
		MEMBER(sippres_auth_credential, realm, 8, 8),
	};
	static const struct member s[] = {
		MEMBER(sippres_auth_secret, size, 0, 8),
		MEMBER(sippres_auth_secret, auth, 8, 8),
		MEMBER(sippres_auth_secret, username, 16, 8),
		MEMBER(sippres_auth_secret, realm, 24, 8),
		MEMBER(sippres_auth_secret, type, 32, 4),
		MEMBER(sippres_auth_secret, algorithms, 36, 4),
		MEMBER(sippres_auth_secret, password, 40, 8),
		MEMBER(sippres_auth_secret, md5_cred, 48, 8),
		MEMBER(sippres_auth_secret, nonce_lifetime, 56, 4),
	};
	static const struct member q[] = {
		MEMBER(sippres_auth_req, size, 0, 8),
		MEMBER(sippres_auth_req, endpoint, 8, 8),
		MEMBER(sippres_auth_req, from_user, 16, 8),
		MEMBER(sippres_auth_req, source_ip, 24, 8),
		MEMBER(sippres_auth_req, source_port, 32, 4),
		MEMBER(sippres_auth_req, flags, 36, 4),
		MEMBER(sippres_auth_req, credentials, 40, 8),
		MEMBER(sippres_auth_req, n_credentials, 48, 8),
		MEMBER(sippres_auth_req, verify, 56, 8),
		MEMBER(sippres_auth_req, user_data, 64, 8),
	};
	static const struct member ch[] = {
		MEMBER(sippres_auth_challenge, realm, 0, 8),
		MEMBER(sippres_auth_challenge, algorithms, 8, 4),
		MEMBER(sippres_auth_challenge, stale, 12, 4),
		MEMBER(sippres_auth_challenge, nonce_lifetime, 16, 4),
	};
	static const struct member r[] = {
		MEMBER(sippres_auth_res, size, 0, 8),
		MEMBER(sippres_auth_res, decision, 8, 4),
		MEMBER(sippres_auth_res, status, 12, 4),
		MEMBER(sippres_auth_res, identified_by, 16, 4),
		MEMBER(sippres_auth_res, endpoint, 24, 8),
		MEMBER(sippres_auth_res, auth, 32, 8),
		MEMBER(sippres_auth_res, challenges, 40, 8),
		MEMBER(sippres_auth_res, n_challenges, 48, 8),
		MEMBER(sippres_auth_res, reason, 56, 8),
	};
	(void)state;
	CHECK_STRUCT(sippres_auth, 56, a);
	CHECK_STRUCT(sippres_identify, 32, i);
	CHECK_STRUCT(sippres_auth_credential, 16, c);
	CHECK_STRUCT(sippres_auth_secret, 64, s);
	CHECK_STRUCT(sippres_auth_req, 72, q);
	CHECK_STRUCT(sippres_auth_challenge, 24, ch);
	CHECK_STRUCT(sippres_auth_res, 64, r);
}

static void test_repl_change(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_repl_change, size, 0, 8),
		MEMBER(sippres_repl_change, kind, 8, 4),
		MEMBER(sippres_repl_change, removed, 12, 4),
		MEMBER(sippres_repl_change, origin, 16, 8),
		MEMBER(sippres_repl_change, seq, 24, 8),
		MEMBER(sippres_repl_change, key, 32, 8),
		MEMBER(sippres_repl_change, data, 40, 8),
		MEMBER(sippres_repl_change, len, 48, 8),
	};
	(void)state;
	CHECK_STRUCT(sippres_repl_change, 56, m);
}

static void test_error_codes(void **state)
{
	static const struct constant c[] = {
		CONSTANT(SIPPRES_OK, 0),
		CONSTANT(SIPPRES_E_INVAL, -1),
		CONSTANT(SIPPRES_E_NOMEM, -2),
		CONSTANT(SIPPRES_E_ABI, -3),
		CONSTANT(SIPPRES_E_NOTFOUND, -4),
		CONSTANT(SIPPRES_E_EXISTS, -5),
		CONSTANT(SIPPRES_E_CALLBACK, -6),
		CONSTANT(SIPPRES_E_PARSE, -7),
		CONSTANT(SIPPRES_E_TOOBIG, -8),
		CONSTANT(SIPPRES_E_REENTRANT, -9),
		CONSTANT(SIPPRES_E_RANDOM, -10),
	};
	(void)state;
	CHECK_CONSTANTS("error codes", c);
}

static void test_enums(void **state)
{
	static const struct constant c[] = {
		CONSTANT(SIPPRES_LOG_ERROR, 0),
		CONSTANT(SIPPRES_LOG_WARNING, 1),
		CONSTANT(SIPPRES_LOG_INFO, 2),
		CONSTANT(SIPPRES_LOG_DEBUG, 3),

		CONSTANT(SIPPRES_DEVICE_UNKNOWN, 0),
		CONSTANT(SIPPRES_DEVICE_NOT_INUSE, 1),
		CONSTANT(SIPPRES_DEVICE_INUSE, 2),
		CONSTANT(SIPPRES_DEVICE_BUSY, 3),
		CONSTANT(SIPPRES_DEVICE_INVALID, 4),
		CONSTANT(SIPPRES_DEVICE_UNAVAILABLE, 5),
		CONSTANT(SIPPRES_DEVICE_RINGING, 6),
		CONSTANT(SIPPRES_DEVICE_RINGINUSE, 7),
		CONSTANT(SIPPRES_DEVICE_ONHOLD, 8),

		CONSTANT(SIPPRES_EXTEN_REMOVED, -2),
		CONSTANT(SIPPRES_EXTEN_DEACTIVATED, -1),
		CONSTANT(SIPPRES_EXTEN_NOT_INUSE, 0),
		CONSTANT(SIPPRES_EXTEN_INUSE, 1),
		CONSTANT(SIPPRES_EXTEN_BUSY, 2),
		CONSTANT(SIPPRES_EXTEN_UNAVAILABLE, 4),
		CONSTANT(SIPPRES_EXTEN_RINGING, 8),
		CONSTANT(SIPPRES_EXTEN_ONHOLD, 16),

		CONSTANT(SIPPRES_PRESENCE_NOT_SET, 0),
		CONSTANT(SIPPRES_PRESENCE_UNAVAILABLE, 1),
		CONSTANT(SIPPRES_PRESENCE_AVAILABLE, 2),
		CONSTANT(SIPPRES_PRESENCE_AWAY, 3),
		CONSTANT(SIPPRES_PRESENCE_XA, 4),
		CONSTANT(SIPPRES_PRESENCE_CHAT, 5),
		CONSTANT(SIPPRES_PRESENCE_DND, 6),
		CONSTANT(SIPPRES_PRESENCE_INVALID, 7),

		CONSTANT(SIPPRES_CALL_EARLY, 0),
		CONSTANT(SIPPRES_CALL_CONFIRMED, 1),
		CONSTANT(SIPPRES_CALL_HELD, 2),
		CONSTANT(SIPPRES_CALL_TERMINATED, 3),

		CONSTANT(SIPPRES_DIRECTION_RECIPIENT, 0),
		CONSTANT(SIPPRES_DIRECTION_INITIATOR, 1),

		CONSTANT(SIPPRES_REASON_QUERY, 0),
		CONSTANT(SIPPRES_REASON_DEVICE, 1),
		CONSTANT(SIPPRES_REASON_PRESENCE, 2),
		CONSTANT(SIPPRES_REASON_HINT, 3),
		CONSTANT(SIPPRES_REASON_REMOVED, 4),

		CONSTANT(SIPPRES_PROFILE_STANDARD, 0),
		CONSTANT(SIPPRES_PROFILE_ASTERISK, 1),

		CONSTANT(SIPPRES_BODY_HOOK_ROOT, 0),
		CONSTANT(SIPPRES_BODY_HOOK_MAIN, 1),
		CONSTANT(SIPPRES_BODY_HOOK_END, 2),

		CONSTANT(SIPPRES_NOTIFY_INITIAL, 0),
		CONSTANT(SIPPRES_NOTIFY_CHANGE, 1),
		CONSTANT(SIPPRES_NOTIFY_REFRESH, 2),
		CONSTANT(SIPPRES_NOTIFY_FINAL, 3),
		CONSTANT(SIPPRES_NOTIFY_RESTORED, 4),
		CONSTANT(SIPPRES_AUTH_VERDICT_OK, 0),
		CONSTANT(SIPPRES_AUTH_VERDICT_STALE, 1),
		CONSTANT(SIPPRES_AUTH_VERDICT_WRONG, 2),

		CONSTANT(SIPPRES_REPL_DEVICE, 1),
		CONSTANT(SIPPRES_REPL_PRESENCE, 2),
		CONSTANT(SIPPRES_REPL_SWEEP, 3),
		CONSTANT(SIPPRES_REPL_SUBSCRIPTION, 4),
		CONSTANT(SIPPRES_REPL_PUBLICATION, 5),
	};
	(void)state;
	CHECK_CONSTANTS("enum constants", c);
}

static void test_macros(void **state)
{
	static const struct constant c[] = {
		CONSTANT(SIPPRES_MAX_NAME, 1024),
		CONSTANT(SIPPRES_MAX_TEXT, 65536),
		CONSTANT(SIPPRES_MAX_STRUCT_SIZE, 4096),
		CONSTANT(SIPPRES_DEVICE_STATE_COUNT, 9),
		CONSTANT(SIPPRES_PRESENCE_STATE_COUNT, 8),
		CONSTANT(SIPPRES_CALL_NAME_RESTRICTED, 0x1),
		CONSTANT(SIPPRES_CALL_NUMBER_RESTRICTED, 0x2),
		CONSTANT(SIPPRES_BODY_EARLY_INUSE_RINGING, 0x1),
		CONSTANT(SIPPRES_BODY_SINGLE_DIALOG, 0x2),
		CONSTANT(SIPPRES_BODY_DUMMY_DIALOG, 0x4),
		CONSTANT(SIPPRES_ENDPOINT_DENY_SUBSCRIBE, 0x1),
		CONSTANT(SIPPRES_ENDPOINT_NOTIFY_EARLY_INUSE_RINGING, 0x2),
		CONSTANT(SIPPRES_SUBSCRIBE_EVENTLIST, 0x1),
		CONSTANT(SIPPRES_PUBLISH_PRESENCE, 1),
		CONSTANT(SIPPRES_PUBLISH_DIALOG, 2),
		CONSTANT(SIPPRES_PUBLISH_DEVICESTATE, 4),
		CONSTANT(SIPPRES_MAX_INCLUDES, 1024),
		CONSTANT(SIPPRES_DEFAULT_MAX_INSTANCES, 65536),
		CONSTANT(SIPPRES_MAX_INCLUDE_SEARCH, 128),
		CONSTANT(SIPPRES_AUTOHINTS_DEFAULT_MAX, 10000),
		CONSTANT(SIPPRES_AUTH_USERPASS, 0),
		CONSTANT(SIPPRES_AUTH_MD5, 1),
		CONSTANT(SIPPRES_AUTH_ALG_MD5, 0x1),
		CONSTANT(SIPPRES_AUTH_ALG_SHA256, 0x2),
		CONSTANT(SIPPRES_AUTH_DEFAULT_NONCE_LIFETIME, 32),
		CONSTANT(SIPPRES_IDENTIFY_NONE, 0),
		CONSTANT(SIPPRES_IDENTIFY_IP, 1),
		CONSTANT(SIPPRES_IDENTIFY_USERNAME, 2),
		CONSTANT(SIPPRES_IDENTIFY_ANONYMOUS, 3),
		CONSTANT(SIPPRES_IDENTIFY_DIALOG, 4),
		CONSTANT(SIPPRES_AUTH_ACCEPT, 0),
		CONSTANT(SIPPRES_AUTH_CHALLENGE, 1),
		CONSTANT(SIPPRES_AUTH_FORBID, 2),
		CONSTANT(SIPPRES_MAX_ORIGIN, 64),
	};
	(void)state;
	CHECK_CONSTANTS("numeric macros", c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allocator),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_callbacks),
		cmocka_unit_test(test_diag),
		cmocka_unit_test(test_call),
		cmocka_unit_test(test_device_info),
		cmocka_unit_test(test_exten_status),
		cmocka_unit_test(test_body_input),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_endpoint),
		cmocka_unit_test(test_subscribe_req),
		cmocka_unit_test(test_subscribe_res),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_sub_info),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_config_io),
		cmocka_unit_test(test_inbound_publication),
		cmocka_unit_test(test_publish_req),
		cmocka_unit_test(test_publish_res),
		cmocka_unit_test(test_publication_info),
		cmocka_unit_test(test_outbound_publish),
		cmocka_unit_test(test_conf_outbound_publish),
		cmocka_unit_test(test_conf_transport),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_repl_change),
		cmocka_unit_test(test_error_codes),
		cmocka_unit_test(test_enums),
		cmocka_unit_test(test_macros),
	};

	/* The frozen numbers are LP64's (64-bit size_t, pointers and long). */
	if (sizeof(void *) != 8 || sizeof(size_t) != 8 || sizeof(long) != 8) {
		printf("1..0 # SKIP frozen layouts are recorded for LP64 platforms only\n");
		return 0;
	}
	return cmocka_run_group_tests_name("abi-layout", tests, NULL, NULL);
}
