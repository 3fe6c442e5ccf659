/* SPDX-License-Identifier: MIT */
/* Config loaders: an Asterisk-syntax reader (sections, templates, includes,
 * comments) that builds an in-memory document, and the problem list shared by
 * the extensions.conf and pjsip.conf loaders. Text in, no I/O. */
#ifndef SIPPRES_CONFIG_PRIVATE_H
#define SIPPRES_CONFIG_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core-private.h"

/* Deepest #include nesting (the top file is depth 0). */
#define SIPPRES__CONF_MAX_INCLUDE_DEPTH 16
/* Bounds for one load, so that hostile text cannot make it exponential:
 * included files (each one counts every time it is included), lines kept
 * (inherited copies count), problems stored (the rest are only counted). */
#define SIPPRES__CONF_MAX_INCLUDES 1024
#define SIPPRES__CONF_MAX_VARS (1u << 20)
#define SIPPRES__CONF_MAX_PROBLEMS 1000
/* The bytes of the lines kept, each line counted as if it were a copy of its
 * own (struct, name and value, so an inherited copy counts in full although
 * it shares its template's strings): at most BASE plus RATIO times the bytes
 * of text read (every included file counted each time it is read). What a
 * loader registers from the lines is in proportion. */
#define SIPPRES__CONF_MAX_BYTES_BASE ((size_t)16 << 20)
#define SIPPRES__CONF_MAX_BYTES_RATIO 64

/* One `name = value` (or `name => value`) line of a section. The strings are
 * the line's own, or for an inherited copy its template's (read-only: a copy
 * shares them). */
struct sippres__conf_var {
	const char *name;     /* trimmed */
	const char *value;    /* trimmed, comments removed, `\;` resolved */
	const char *file;     /* interned in the document */
	uint32_t line;        /* 1-based */
	uint32_t value_col;   /* 1-based column of value[0] in the original line (0: unknown) */
	uint64_t seq;         /* reading order across files, for sorting problems */
	bool inherited;       /* copied from a template: name and value are the template's */
	bool object;          /* written with `=>` */
};

/* One `[name]` section; sections may share a name (pjsip.conf does that). */
struct sippres__conf_cat {
	struct sippres__hnode node; /* in sippres__conf_doc.by_name when it is the first of its name */
	char *name;
	const char *file;
	uint32_t line;
	uint64_t seq;
	bool is_template;     /* (!) */
	struct sippres__conf_var *vars;
	size_t n_vars, cap_vars;
};

struct sippres__conf_problem {
	const char *file;
	uint64_t seq;
	struct sippres_diag diag;
};

struct sippres__conf_doc {
	struct sippres_ctx *ctx;
	struct sippres_config_io io; /* zeroed when the host gave none */
	struct sippres__conf_cat **cats;
	size_t n_cats, cap_cats;
	char **files;                /* interned file names */
	size_t n_files;
	struct sippres__map by_name;       /* first section of each name */
	struct sippres__conf_problem *problems;
	size_t n_problems, cap_problems;
	size_t n_more_problems;      /* beyond SIPPRES__CONF_MAX_PROBLEMS: counted, not stored */
	size_t n_includes, n_vars;
	size_t n_bytes;              /* the lines' bytes, as SIPPRES__CONF_MAX_BYTES_* counts them */
	size_t text_bytes;           /* bytes of text read so far */
	bool vars_full;              /* a bound on the lines was reached (reported once) */
	const char *include_stack[SIPPRES__CONF_MAX_INCLUDE_DEPTH + 1];
	unsigned depth;
	uint64_t seq;                /* lines read so far, across files */
	struct sippres__conf_cat *cur;     /* section that lines are added to (NULL: none yet or broken) */
	bool cur_broken;             /* the current header was malformed: skip its lines silently */
};

/* Check the io struct and prepare an empty document. */
int sippres__conf_doc_init(struct sippres__conf_doc *doc, struct sippres_ctx *ctx, const struct sippres_config_io *io);
void sippres__conf_doc_fini(struct sippres__conf_doc *doc);

/* Read one file's text (and the files it includes) into the document.
 * Syntax problems are recorded; returns 0 or < 0 (SIPPRES_E_NOMEM) only. */
int sippres__conf_read(struct sippres__conf_doc *doc, const char *file, const char *text, size_t len);

/* Record a problem. Returns 0 or SIPPRES_E_NOMEM. */
#if defined(__GNUC__)
__attribute__((format(printf, 6, 7)))
#endif
int sippres__conf_problem(struct sippres__conf_doc *doc, const char *file, uint32_t line, uint32_t column, uint64_t seq,
                    const char *fmt, ...);
/* Same, positioned at a variable's value (offset: bytes into the value). */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
int sippres__conf_var_problem(struct sippres__conf_doc *doc, const struct sippres__conf_var *v, size_t offset, const char *fmt, ...);

/* Hand every recorded problem to the host in reading order. Returns the count. */
int sippres__conf_emit_problems(struct sippres__conf_doc *doc);

/* The last variable called name (case-insensitive) in a section, or NULL. */
const struct sippres__conf_var *sippres__conf_cat_get(const struct sippres__conf_cat *cat, const char *name);

/* Asterisk booleans: yes/true/y/t/1/on and no/false/n/f/0/off, any case.
 * Returns 1, 0, or -1 for anything else. */
int sippres__conf_bool(const char *s);
/* Unsigned 32-bit decimal (leading/trailing blanks allowed). Returns 0 or -1. */
int sippres__conf_uint(const char *s, uint32_t *out);

/* Tell the host an object was applied (io.loaded). */
void sippres__conf_loaded(struct sippres__conf_doc *doc, const char *type, const char *name);

#endif
