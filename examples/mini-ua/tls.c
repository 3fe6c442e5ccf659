/* SPDX-License-Identifier: MIT */
/* OpenSSL contexts for the mini UA's TLS transport: the server's certificate
 * and key from a pjsip.conf transport section, the CAs client certificates
 * are checked against (verify_client, require_client_cert), the method
 * (lowest TLS version) and ciphers; and the subscriber's client context. */
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "transport.h"

static void log_ssl(const char *what, const char *name)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	ERR_error_string_n(e, buf, sizeof(buf));
	ua_log(LOG_ERR, "transport %s: %s: %s", name, what, e ? buf : "failed");
	ERR_clear_error();
}

/* method= as Asterisk names it: the lowest version allowed (OpenSSL 3 has no SSLv2/3 left). */
static int min_version(const char *method)
{
	if (!method || !strcasecmp(method, "default") || !strcasecmp(method, "unspecified") ||
	    !strcasecmp(method, "sslv23") || !strcasecmp(method, "tlsv1"))
		return TLS1_VERSION;
	if (!strcasecmp(method, "tlsv1_1"))
		return TLS1_1_VERSION;
	if (!strcasecmp(method, "tlsv1_2"))
		return TLS1_2_VERSION;
	if (!strcasecmp(method, "tlsv1_3"))
		return TLS1_3_VERSION;
	return -1;
}

void *tls_server_ctx(const struct transport_conf *c)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int v = min_version(c->t.method);

	if (!ctx) {
		log_ssl("SSL_CTX_new", c->name);
		return NULL;
	}
	if (v < 0) {
		ua_log(LOG_ERR, "transport %s: method %s: expected tlsv1, tlsv1_1, tlsv1_2 or tlsv1_3", c->name, c->t.method);
		goto bad;
	}
	SSL_CTX_set_min_proto_version(ctx, v);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_use_certificate_chain_file(ctx, c->t.cert_file) != 1) {
		log_ssl(c->t.cert_file, c->name);
		goto bad;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, c->t.priv_key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		log_ssl(c->t.priv_key_file, c->name);
		goto bad;
	}
	if (c->t.cipher && SSL_CTX_set_cipher_list(ctx, c->t.cipher) != 1) {
		log_ssl("cipher", c->name);
		goto bad;
	}
	if (c->t.ca_list_file || c->t.ca_list_path) {
		if (SSL_CTX_load_verify_locations(ctx, c->t.ca_list_file, c->t.ca_list_path) != 1) {
			log_ssl(c->t.ca_list_file ? c->t.ca_list_file : c->t.ca_list_path, c->name);
			goto bad;
		}
		if (c->t.ca_list_file) {
			STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(c->t.ca_list_file);

			if (names)
				SSL_CTX_set_client_CA_list(ctx, names);
		}
	}
	/* verify_client: a certificate the client presents must verify; require_client_cert: and it must
	 * present one. Either fails the handshake otherwise. */
	if (c->t.require_client_cert)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	else if (c->t.verify_client)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
bad:
	SSL_CTX_free(ctx);
	return NULL;
}

void *tls_client_ctx(const char *ca)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx) {
		log_ssl("SSL_CTX_new", "client");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (ca) {
		if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
			log_ssl(ca, "--ca");
			SSL_CTX_free(ctx);
			return NULL;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
	return ctx;
}

void tls_ctx_free(void *ctx)
{
	SSL_CTX_free(ctx);
}
