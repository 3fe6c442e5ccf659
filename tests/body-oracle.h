/* SPDX-License-Identifier: MIT */
/* The round-trip oracle of the NOTIFY bodies, shared by the property test
 * (tests/test-bodies-prop.c) and the fuzz target (fuzz/fuzz-bodies.c): a
 * rendered body must parse with libxml2 (no network, no DTD), and each input
 * string must come back from the parsed document exactly as the documented
 * repair makes it (characters XML cannot carry and bytes that are not UTF-8
 * become U+FFFD, everything else unchanged). The repair is written here
 * independently of the library's writer. */
#ifndef SIPPRES_BODY_ORACLE_H
#define SIPPRES_BODY_ORACLE_H

#include <stddef.h>

#include <libxml/tree.h>

#include <libsippresence/libsippresence.h>

/* A finding: the user of the oracle defines it (a test failure, an abort in
 * a fuzz target); it does not return. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2), noreturn))
#endif
void oracle_fail(const char *fmt, ...);

/* A growable NUL-terminated string (aborts when out of memory). */
struct oracle_buf {
	char *p;
	size_t n, cap;
};
void oracle_put(struct oracle_buf *b, const void *d, size_t n);
void oracle_str(struct oracle_buf *b, const char *s);

/* Append the repaired form of s[0..n) to b. */
void oracle_repair(struct oracle_buf *b, const char *s, size_t n);

/* The body parsed by libxml2 (a failure to parse is a finding). */
xmlDocPtr oracle_parse(const char *data, size_t len);
/* The string value of the XPath expr must be want (NULL: it selects nothing).
 * Prefixes: p (PIDF), dm, rpid, d (dialog-info). */
void oracle_expect(xmlDocPtr doc, const char *expr, const char *want, const struct sippres_body *b);

/* Check a built-in generator's body (content_type one of the built-in
 * types) rendered from in. The inputs it knows: a RINGING extension whose
 * one device is ringing, with in->causing_call (or none) as its call. */
void oracle_check_body(xmlDocPtr doc, const char *content_type, const struct sippres_body_input *in,
                       const struct sippres_body *b);

/* A host supplement that writes nothing: registered for PIDF, it keeps the
 * built-in generator off its direct path (which writes the built-in
 * supplements' parts itself), so the two paths can be compared. */
int oracle_noop_supplement(void *ud, struct sippres_xml *xml, const struct sippres_body_input *in, uint32_t hook);

/* Field checks made so far. */
extern long oracle_checks;

#endif
