/* SPDX-License-Identifier: MIT */
/**
 * @file libsippresence.h
 * @brief libsippresence: sans-I/O SIP presence and BLF (busy-lamp) engine.
 *
 * The host owns sockets, clock, threads and files; the library keeps hints,
 * device/presence/call state and subscriptions, and answers with decisions and
 * NOTIFY bodies through callbacks.
 *
 * Threads: no object is thread-safe. The host serialises every call on one
 * sippres_ctx and its children; separate contexts may be used concurrently
 * from different threads. The library keeps no mutable global state.
 *
 * Strings: every `const char *` argument is a NUL-terminated UTF-8 string
 * unless it comes with an explicit length. Every string the library hands out
 * (in callbacks or result structs) is a borrowed view, valid until the callback
 * returns or until the next call on the same context, whichever comes first.
 *
 * Errors: functions return an int; >= 0 is success (sometimes a count), < 0 is
 * one of the SIPPRES_E_* codes. On failure no output argument is touched and
 * no state is half-changed.
 *
 * Callbacks run synchronously inside the call that triggered them. From a
 * callback the host may call only what reads or detaches: the state-name
 * helpers, sippres_exten_status_get(), sippres_hint_foreach(),
 * sippres_device_state_get(), sippres_sub_find(), sippres_sub_get_info(),
 * sippres_sub_get_user_data(), sippres_sub_set_user_data(),
 * sippres_sub_count(), sippres_watch_remove(), sippres_body_supported() and
 * sippres_ctx_random(). Every call that changes state (hints, devices,
 * presence, calls, endpoints, lists, subscriptions, timers) returns
 * SIPPRES_E_REENTRANT there.
 */
#ifndef LIBSIPPRESENCE_H
#define LIBSIPPRESENCE_H

#include <stddef.h>
#include <stdint.h>

#include "sippres-version.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @cond hidden */
#if defined(_WIN32) && !defined(__GNUC__)
#define SIPPRES_EXPORT
#elif defined(SIPPRES_BUILDING) && (defined(__GNUC__) || defined(__clang__))
#define SIPPRES_EXPORT __attribute__((visibility("default")))
#else
#define SIPPRES_EXPORT
#endif
#if defined(__GNUC__) || defined(__clang__)
#define SIPPRES_DEPRECATED_FOR(f) __attribute__((deprecated("use " #f)))
#else
#define SIPPRES_DEPRECATED_FOR(f)
#endif
/** @endcond */

/* ------------------------------------------------------------------------- */
/** @defgroup errors Error codes
 * Negative return values. Never renumbered, never reused.
 * @{ */
#define SIPPRES_OK 0            /**< Success. @since 0.1 */
#define SIPPRES_E_INVAL (-1)    /**< An argument is invalid. @since 0.1 */
#define SIPPRES_E_NOMEM (-2)    /**< An allocation failed. @since 0.1 */
/** A size-prefixed struct has an unsupported size (below its first
 *  version's, or since 0.2 above SIPPRES_MAX_STRUCT_SIZE) or unknown non-zero tail. @since 0.1 */
#define SIPPRES_E_ABI (-3)
#define SIPPRES_E_NOTFOUND (-4) /**< The named object does not exist. @since 0.1 */
#define SIPPRES_E_EXISTS (-5)   /**< The object already exists. @since 0.1 */
#define SIPPRES_E_CALLBACK (-6) /**< A host callback returned a negative value. @since 0.1 */
#define SIPPRES_E_PARSE (-7)    /**< Text could not be parsed; see the diagnostic. @since 0.1 */
#define SIPPRES_E_TOOBIG (-8)   /**< A string or count exceeds a documented limit. @since 0.1 */
#define SIPPRES_E_REENTRANT (-9) /**< Called from inside a callback where that is not allowed. @since 0.1 */
#define SIPPRES_E_RANDOM (-10)  /**< The random callback failed. @since 0.1 */
/** @} */

/**
 * Describe an error code.
 * @return a static string, never NULL (unknown codes give "unknown error").
 * @since 0.1
 */
SIPPRES_EXPORT const char *sippres_strerror(int err);

/**
 * Initialise the libraries libsippresence uses (libxml2, for the XML list
 * loader). Call it once from the main thread before several threads use
 * libsippresence; single-threaded hosts need not call it. Idempotent.
 * libxml2 keeps its own global allocator: the library never changes it.
 * @since 0.1
 */
SIPPRES_EXPORT void sippres_global_init(void);

/** @return the library's version string, e.g. "0.1.0". @since 0.1 */
SIPPRES_EXPORT const char *sippres_version_string(void);

/* ------------------------------------------------------------------------- */
/** @defgroup limits Limits
 * @{ */
#define SIPPRES_MAX_NAME 1024   /**< Longest context, extension, device, provider or call-id name, in bytes. @since 0.1 */
#define SIPPRES_MAX_TEXT 65536  /**< Longest hint value, presence subtype/message or call field, in bytes. @since 0.1 */
/** Largest size member the library accepts in a size-prefixed struct the
 *  host passes (larger: SIPPRES_E_ABI, before any byte past the library's own
 *  version of the struct is read or written). @since 0.2 */
#define SIPPRES_MAX_STRUCT_SIZE 4096
/** Most `include =>` entries one context may have (sippres_context_include_set()). @since 0.2 */
#define SIPPRES_MAX_INCLUDES 1024
/** Most contexts one hint lookup searches through includes, the starting
 *  context counted (Asterisk's AST_PBX_MAX_STACK); the rest are not searched. @since 0.2 */
#define SIPPRES_MAX_INCLUDE_SEARCH 128
/** The autohints bound the extensions.conf loader gives a context with
 *  `autohints = yes` (sippres_context_autohints_set()). @since 0.2 */
#define SIPPRES_AUTOHINTS_DEFAULT_MAX 10000
/** @} */

/* ------------------------------------------------------------------------- */
/** @defgroup ctx Context, allocator, callbacks
 * @{ */

/** Opaque library context. @since 0.1 */
struct sippres_ctx;
/** Opaque extension-state watch. @since 0.1 */
struct sippres_watch;

/**
 * Optional allocator, copied at context creation. All four function members
 * are required when the struct is given. The library never asks for 0 bytes.
 * libxml2 (used only by XML parsers) keeps its own global allocator.
 * @since 0.1
 */
struct sippres_allocator {
	size_t size; /**< sizeof(struct sippres_allocator), set by the host */
	/** user_data handed to each of the three functions */
	void *user_data;
	/** allocate n bytes (n > 0); NULL on failure */
	void *(*malloc)(void *user_data, size_t n);
	/** resize ptr to n bytes (n > 0); NULL on failure, ptr untouched */
	void *(*realloc)(void *user_data, void *ptr, size_t n);
	/** free ptr */
	void (*free)(void *user_data, void *ptr);
};

/** Log levels handed to the log callback. @since 0.1 */
enum sippres_log_level {
	SIPPRES_LOG_ERROR = 0,
	SIPPRES_LOG_WARNING = 1,
	SIPPRES_LOG_INFO = 2,
	SIPPRES_LOG_DEBUG = 3
};

/**
 * Context configuration, read at creation. A NULL config means all defaults.
 * Members are only ever appended; the host sets size = sizeof.
 * @since 0.1
 */
struct sippres_config {
	size_t size;                               /**< sizeof(struct sippres_config) */
	const struct sippres_allocator *allocator; /**< NULL: malloc/realloc/free */
	uint32_t log_level;                        /**< highest sippres_log_level passed to the log callback */
	uint32_t flags;                            /**< reserved, must be 0 */
	/** Live pattern-hint instances at most (0: SIPPRES_DEFAULT_MAX_INSTANCES).
	 *  An instance nothing watches or subscribes to is freed at the next
	 *  sippres_ctx_handle_timeout() or sippres_subscribe(); past the limit a
	 *  lookup that would make one fails (SUBSCRIBE: 503). @since 0.2 */
	uint32_t max_pattern_instances;
};

/** The default of sippres_config.max_pattern_instances. @since 0.2 */
#define SIPPRES_DEFAULT_MAX_INSTANCES 65536

struct sippres_exten_status;
struct sippres_sub;
struct sippres_publication;
struct sippres_notify;
struct sippres_repl_change;

/**
 * Host callbacks, copied at creation. NULL members mean "feature unused".
 * Each takes user_data first; a negative return aborts the triggering call
 * with SIPPRES_E_CALLBACK where documented.
 * @since 0.1
 */
struct sippres_callbacks {
	size_t size; /**< sizeof(struct sippres_callbacks), set by the host */
	/** Pre-formatted log line (no trailing newline). @since 0.1 */
	void (*log)(void *user_data, int level, const char *msg);
	/** Fill buf with len random bytes; return 0, or < 0 on failure. NULL:
	 *  the kernel's getrandom() (since 0.2; it opens no file and blocks only
	 *  until the kernel's pool is first initialised at boot); where the
	 *  library was built without getrandom(), sippres_ctx_new() refuses to
	 *  make a context without this callback (SIPPRES_E_RANDOM). @since 0.1 */
	int (*random)(void *user_data, uint8_t *buf, size_t len);
	/** Send a NOTIFY. Return 0, or < 0 when it could not be handed to the
	 *  transport (counted as a failed NOTIFY). After the callback for a NOTIFY
	 *  with terminated set returns, the subscription is freed. @since 0.1 */
	int (*notify)(void *user_data, struct sippres_sub *sub, const struct sippres_notify *n);
	/** Store (replace) the subscription's record; see sippres_sub_restore(). @since 0.1 */
	void (*persist)(void *user_data, struct sippres_sub *sub, const void *record, size_t len);
	/** Delete the subscription's record: it ended. The sub is freed after the
	 *  callback returns. @since 0.1 */
	void (*forget)(void *user_data, struct sippres_sub *sub);
	/** Store (replace) a publication's record; see sippres_publication_restore().
	 *  Called before the answer to the PUBLISH that made or changed it is
	 *  returned. @since 0.2 */
	void (*persist_publication)(void *user_data, struct sippres_publication *pub, const void *record, size_t len);
	/** The publication ended (removed or expired): drop its record. It is
	 *  freed when the callback returns. @since 0.2 */
	void (*forget_publication)(void *user_data, struct sippres_publication *pub);
	/** PUBLISH body to the outbound publish named outbound (a
	 *  sippres_outbound_publish_set() name): Event event, Content-Type
	 *  content_type. The host sends it as RFC 3903 asks (an initial PUBLISH, or
	 *  a modify with SIP-If-Match of its live publication there). Return 0, or
	 *  < 0 when it cannot be sent (logged; state stays). @since 0.2 */
	int (*publish)(void *user_data, const char *outbound, const char *event, const char *content_type,
	               const char *body, size_t len);
	/** A change to hand to the other nodes of a cluster (see the Replication
	 *  group): called, once sippres_repl_start() has named this node, for
	 *  every change of this node's view of a device or presence provider and
	 *  for every change of a subscription's or publication's record. The
	 *  change is a view valid during the call. @since 0.2 */
	void (*replicate)(void *user_data, const struct sippres_repl_change *change);
};

/**
 * Create a context.
 * @param cfg       NULL or a config (size-checked).
 * @param cb        NULL or callbacks (size-checked).
 * @param user_data handed to every callback.
 * @param ret       receives the context; untouched on failure.
 * @return 0, SIPPRES_E_INVAL, SIPPRES_E_ABI, SIPPRES_E_NOMEM, or
 *         SIPPRES_E_RANDOM (the random source failed: see the random callback).
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_ctx_new(const struct sippres_config *cfg, const struct sippres_callbacks *cb,
                                   void *user_data, struct sippres_ctx **ret);

/** Free a context and everything it owns. No callback fires. NULL is a no-op. @since 0.1 */
SIPPRES_EXPORT void sippres_ctx_free(struct sippres_ctx *ctx);

/**
 * Fill buf with len bytes from the context's random source (the random callback,
 * or the kernel's getrandom()).
 * @return 0 or SIPPRES_E_RANDOM / SIPPRES_E_INVAL.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_ctx_random(struct sippres_ctx *ctx, uint8_t *buf, size_t len);
/** @} */

/* ------------------------------------------------------------------------- */
/** @defgroup diag Diagnostics
 * @{ */

/**
 * Where and why a piece of text was rejected. Passed in by the host (size
 * set), filled by the library on SIPPRES_E_PARSE, SIPPRES_E_INVAL and
 * SIPPRES_E_TOOBIG from text-taking functions.
 * @since 0.1
 */
struct sippres_diag {
	size_t size;      /**< sizeof(struct sippres_diag) */
	uint32_t line;    /**< 1-based line, 0 when the input is a single value */
	uint32_t column;  /**< 1-based byte offset in the line or value where the problem is, 0 if unknown */
	char message[256]; /**< NUL-terminated description */
};
/** @} */

/* ------------------------------------------------------------------------- */
/** @defgroup states Device, extension and presence states
 * Numeric values are Asterisk's.
 * @{ */

/** Device states (Asterisk's enum ast_device_state). @since 0.1 */
enum sippres_device_state {
	SIPPRES_DEVICE_UNKNOWN = 0,
	SIPPRES_DEVICE_NOT_INUSE = 1,
	SIPPRES_DEVICE_INUSE = 2,
	SIPPRES_DEVICE_BUSY = 3,
	SIPPRES_DEVICE_INVALID = 4,
	SIPPRES_DEVICE_UNAVAILABLE = 5,
	SIPPRES_DEVICE_RINGING = 6,
	SIPPRES_DEVICE_RINGINUSE = 7,
	SIPPRES_DEVICE_ONHOLD = 8
};
#define SIPPRES_DEVICE_STATE_COUNT 9 /**< number of device states. @since 0.1 */

/** Extension state bits (Asterisk's enum ast_extension_states). @since 0.1 */
enum sippres_exten_state {
	SIPPRES_EXTEN_REMOVED = -2,     /**< the hint was removed */
	SIPPRES_EXTEN_DEACTIVATED = -1, /**< the hint is gone for another reason */
	SIPPRES_EXTEN_NOT_INUSE = 0,
	SIPPRES_EXTEN_INUSE = 1,
	SIPPRES_EXTEN_BUSY = 2,
	SIPPRES_EXTEN_UNAVAILABLE = 4,
	SIPPRES_EXTEN_RINGING = 8,
	SIPPRES_EXTEN_ONHOLD = 16
};

/** Presence states (Asterisk's enum ast_presence_state). @since 0.1 */
enum sippres_presence_state {
	SIPPRES_PRESENCE_NOT_SET = 0,
	SIPPRES_PRESENCE_UNAVAILABLE = 1,
	SIPPRES_PRESENCE_AVAILABLE = 2,
	SIPPRES_PRESENCE_AWAY = 3,
	SIPPRES_PRESENCE_XA = 4,
	SIPPRES_PRESENCE_CHAT = 5,
	SIPPRES_PRESENCE_DND = 6,
	SIPPRES_PRESENCE_INVALID = 7
};
#define SIPPRES_PRESENCE_STATE_COUNT 8 /**< number of presence states. @since 0.1 */

/**
 * Parse a device state name (NOT_INUSE, INUSE, BUSY, INVALID, UNAVAILABLE,
 * RINGING, RINGINUSE, ONHOLD, UNKNOWN), case-insensitively.
 * @return the state (>= 0) or SIPPRES_E_INVAL for any other text.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_device_state_from_string(const char *s, size_t len);
/** @return the parseable name ("NOT_INUSE", ...) or "UNKNOWN" for out-of-range values. @since 0.1 */
SIPPRES_EXPORT const char *sippres_device_state_name(int state);
/** @return the human description ("Not in use", "Ring+Inuse", ...) as Asterisk prints it. @since 0.1 */
SIPPRES_EXPORT const char *sippres_device_state_description(int state);
/**
 * Aggregate device states as Asterisk's ast_devstate_aggregate does.
 * @return the aggregated device state; SIPPRES_DEVICE_INVALID for n == 0,
 *         SIPPRES_E_INVAL for an out-of-range member or states == NULL with n > 0.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_device_state_aggregate(const int *states, size_t n);
/** Map an (aggregated) device state to an extension state. @since 0.1 */
SIPPRES_EXPORT int sippres_device_to_exten_state(int device_state);
/** @return "Idle", "InUse", "Busy", "Unavailable", "Ringing", "InUse&Ringing", "Hold", "InUse&Hold" or "Unknown". @since 0.1 */
SIPPRES_EXPORT const char *sippres_exten_state_string(int exten_state);

/** Parse a presence state name (not_set, unavailable, available, away, xa, chat, dnd), case-insensitively.
 *  @return the state or SIPPRES_E_INVAL. @since 0.1 */
SIPPRES_EXPORT int sippres_presence_state_from_string(const char *s, size_t len);
/** @return "not_set", "available", ... ("" for INVALID and out of range). @since 0.1 */
SIPPRES_EXPORT const char *sippres_presence_state_name(int state);
/** @} */

/* ------------------------------------------------------------------------- */
/** @defgroup hints Hints
 * A hint ties (context, extension) to devices and presence providers:
 * `DEV1&DEV2[,PROV1&PROV2][(Display Name)]`, e.g.
 * `PJSIP/alice&PJSIP/bob,CustomPresence:alice(Alice)`. An extension starting
 * with `_` is a pattern (X, Z, N, [a-z0-9 ranges], `.`, `!`; `-` ignored);
 * `${EXTEN}` and `${EXTEN:offset[:length]}` in its value are substituted when
 * a concrete extension is first looked up.
 * @{ */

/**
 * Add or replace a hint. Replacing keeps the hint's watchers and notifies
 * them when the extension or presence state changes as a result.
 * @param diag NULL or a diagnostic filled on SIPPRES_E_PARSE / SIPPRES_E_INVAL / SIPPRES_E_TOOBIG.
 * @return 0 (new), 1 (replaced) or < 0; on error nothing is registered or changed.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_hint_set(struct sippres_ctx *ctx, const char *context, const char *exten,
                                    const char *value, struct sippres_diag *diag);
/**
 * Remove a hint (or a pattern hint with every extension instantiated from it).
 * Watchers get a final event with exten_state SIPPRES_EXTEN_REMOVED and are freed.
 * @return 0, SIPPRES_E_NOTFOUND or < 0.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_hint_remove(struct sippres_ctx *ctx, const char *context, const char *exten);

/**
 * Set the contexts a context includes, as `include => NAME` lines do in
 * extensions.conf, replacing the ones set before (n = 0 removes them all).
 *
 * A hint lookup in a context (a SUBSCRIBE, a list member, a watch, a status
 * query) searches, as Asterisk does: the context's own hints (its explicit
 * hint, then its pattern hints, most specific first), then each included
 * context in the order given here, depth first (an included context's own
 * hints, then its includes, before the next include). Every context is
 * searched at most once per lookup, so loops and repeats are harmless, and a
 * lookup searches at most SIPPRES_MAX_INCLUDE_SEARCH contexts. A name that
 * has no hints and no includes yet is skipped until it has. A pattern hint
 * found through an include is instantiated in its own context.
 *
 * Whatever a lookup finds is what the subscription or watch binds to: it
 * follows that hint's state and ends when that hint is removed, even if the
 * includes change later (a changed include list does not move or end
 * existing subscriptions; new lookups use it).
 *
 * @param includes n valid names (NULL when n is 0); copied.
 * @return 0, SIPPRES_E_INVAL (bad argument or name), SIPPRES_E_TOOBIG (n >
 *         SIPPRES_MAX_INCLUDES), SIPPRES_E_REENTRANT (inside a callback) or
 *         SIPPRES_E_NOMEM; on error nothing changes.
 * @since 0.2
 */
SIPPRES_EXPORT int sippres_context_include_set(struct sippres_ctx *ctx, const char *context,
                                               const char *const *includes, size_t n);
/**
 * Turn a context's autohints on or off (extensions.conf `autohints = yes`,
 * Asterisk 14's autohints). While on, whenever the state of a device is set
 * (sippres_device_state_set(), a remote state, a publication), a device named
 * `Tech/resource` or `Provider:resource` (e.g. PJSIP/alice, Custom:lamp) gets
 * the hint `exten => resource,hint,DEVICE` in the context, as
 * sippres_hint_set() would make it, unless the context already has a hint for
 * that extension (explicit hints always win; a pattern does not stop it). A
 * resource that is not a valid extension name or starts with `_` gets none.
 * Autohints are ordinary hints once made: subscriptions, queries, removal.
 * Setting one with sippres_hint_set() makes it an explicit hint.
 *
 * @param max_hints the most autohints the context keeps (a host fed hostile
 *        device names cannot make it grow further; removing one makes room);
 *        0 turns autohints off (the ones made stay).
 * @return 0, SIPPRES_E_INVAL, SIPPRES_E_REENTRANT or SIPPRES_E_NOMEM.
 * @since 0.2
 */
SIPPRES_EXPORT int sippres_context_autohints_set(struct sippres_ctx *ctx, const char *context, size_t max_hints);
/**
 * Call fn for every context that has includes, in no particular order, with
 * its include list (views valid during the call). fn returning < 0 stops the
 * iteration. fn may not change hints or includes (SIPPRES_E_REENTRANT).
 * @return the number of contexts fn was called for, or SIPPRES_E_INVAL.
 * @since 0.2
 */
SIPPRES_EXPORT int sippres_context_include_foreach(struct sippres_ctx *ctx,
                                                   int (*fn)(void *user_data, const char *context,
                                                             const char *const *includes, size_t n),
                                                   void *user_data);

/** Call details that dialog-info and call pickup need. @since 0.1 */
enum sippres_call_state {
	SIPPRES_CALL_EARLY = 0,     /**< ringing */
	SIPPRES_CALL_CONFIRMED = 1, /**< answered */
	SIPPRES_CALL_HELD = 2,      /**< answered and on hold */
	SIPPRES_CALL_TERMINATED = 3
};
/** Direction of a call, as seen from the device. @since 0.1 */
enum sippres_call_direction {
	SIPPRES_DIRECTION_RECIPIENT = 0, /**< the device is called */
	SIPPRES_DIRECTION_INITIATOR = 1  /**< the device calls */
};
#define SIPPRES_CALL_NAME_RESTRICTED 0x1u   /**< remote display name is private. @since 0.1 */
#define SIPPRES_CALL_NUMBER_RESTRICTED 0x2u /**< remote number/URI is private. @since 0.1 */

/**
 * A call on a device, as input (sippres_call_set, size set by the host) and
 * as output (causing call in a status, size set by the library). NULL string
 * members mean "not known".
 * @since 0.1
 */
struct sippres_call {
	/** sizeof(struct sippres_call): set by the host on input, by the library on output */
	size_t size;
	const char *call_id;        /**< required on input */
	/** the device's dialog tag of the call (dialog-info local-tag), or NULL */
	const char *local_tag;
	/** the other party's dialog tag (dialog-info remote-tag), or NULL */
	const char *remote_tag;
	uint32_t state;             /**< enum sippres_call_state */
	uint32_t direction;         /**< enum sippres_call_direction */
	uint32_t flags;             /**< SIPPRES_CALL_* privacy bits */
	const char *local_uri;      /**< the device's identity, e.g. sip:1000@pbx.example.com */
	/** the device's display name, or NULL */
	const char *local_display;
	const char *remote_uri;     /**< the other party, e.g. sip:1001@pbx.example.com */
	/** the other party's display name (caller ID), or NULL */
	const char *remote_display;
};

/** One device of a hint, as reported in a status. @since 0.1 */
struct sippres_device_info {
	/** the device name as written in the hint, e.g. "PJSIP/alice" */
	const char *name;
	int32_t state;                     /**< enum sippres_device_state */
	const struct sippres_call *causing_call; /**< NULL, or the call that explains the state */
};

/** Why a status is reported. @since 0.1 */
enum sippres_status_reason {
	SIPPRES_REASON_QUERY = 0,    /**< answer to a query or iteration */
	SIPPRES_REASON_DEVICE = 1,   /**< a device state changed (or RINGING repeated) */
	SIPPRES_REASON_PRESENCE = 2, /**< the presence triple changed */
	SIPPRES_REASON_HINT = 3,     /**< the hint was replaced and its state changed */
	SIPPRES_REASON_REMOVED = 4   /**< the hint was removed; final event */
};

/**
 * The state of one hinted extension. The library fills it; strings and
 * arrays are views (see the file documentation). For sippres_exten_status_get the host sets size.
 * @since 0.1
 */
struct sippres_exten_status {
	/** sizeof(struct sippres_exten_status): set by the host for sippres_exten_status_get() */
	size_t size;
	/** the hint's context */
	const char *context;
	/** the extension (for a pattern hint itself: the pattern, starting with "_") */
	const char *exten;
	const char *value;            /**< the hint text as registered (substituted for instances) */
	const char *display_name;     /**< "(...)" part, "" if none */
	uint32_t reason;              /**< enum sippres_status_reason */
	int32_t exten_state;          /**< enum sippres_exten_state bits */
	int32_t device_state;         /**< aggregated enum sippres_device_state */
	uint32_t presence_state;      /**< aggregated enum sippres_presence_state */
	const char *presence_subtype; /**< "" when unset */
	const char *presence_message; /**< "" when unset */
	/** the hint's devices with their states and causing calls */
	const struct sippres_device_info *devices;
	/** number of entries in devices */
	size_t n_devices;
	const struct sippres_call *causing_call; /**< the oldest ringing call of a RINGING device, else the first device's causing call; NULL if none */
	uint32_t is_pattern;          /**< 1 for a pattern hint itself (iteration only) */
	uint32_t is_autohint;         /**< 1 for a hint the context's autohints made. @since 0.2 */
};

/**
 * Look up an extension's current state. Instantiates a matching pattern hint
 * on first use, as Asterisk does.
 * @return 0, SIPPRES_E_NOTFOUND (no hint), SIPPRES_E_NOMEM, SIPPRES_E_INVAL, SIPPRES_E_ABI.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_exten_status_get(struct sippres_ctx *ctx, const char *context, const char *exten,
                                            struct sippres_exten_status *out);

/**
 * Call fn for every hint (explicit, pattern and instantiated), in the order
 * they were added. fn returning < 0 stops the iteration.
 * @return the number of hints visited, or < 0.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_hint_foreach(struct sippres_ctx *ctx,
                                        int (*fn)(void *user_data, const struct sippres_exten_status *st),
                                        void *user_data);

/**
 * Watch an extension: fn fires on every extension-state change (and on a
 * repeated RINGING), on a presence triple change, on a hint replacement that
 * changes the state, and once with SIPPRES_REASON_REMOVED, after which the
 * watch is freed. The watch owns no reference to user_data.
 * A pattern match is instantiated. fn must not change state (such calls return
 * SIPPRES_E_REENTRANT); it may query and may remove any watch.
 * @return 0, SIPPRES_E_NOTFOUND (no hint), < 0.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_watch_add(struct sippres_ctx *ctx, const char *context, const char *exten,
                                     void (*fn)(void *user_data, const struct sippres_exten_status *st),
                                     void *user_data, struct sippres_watch **ret);
/** Remove a watch; no event fires. NULL is a no-op. @since 0.1 */
SIPPRES_EXPORT void sippres_watch_remove(struct sippres_ctx *ctx, struct sippres_watch *watch);

/* ------------------------------------------------------------------------- */
/**
 * Push a device state (`PJSIP/alice`, `Custom:lamp`: Tech/resource or
 * Provider:resource; names compare case-insensitively). A device the host never
 * set is UNKNOWN. Watchers of every hint containing the device are told.
 * @return 0, SIPPRES_E_INVAL (bad name or state), SIPPRES_E_REENTRANT, SIPPRES_E_NOMEM.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_device_state_set(struct sippres_ctx *ctx, const char *device, int state);
/** @return the device's current state (>= 0), or SIPPRES_E_INVAL. @since 0.1 */
SIPPRES_EXPORT int sippres_device_state_get(struct sippres_ctx *ctx, const char *device);

/**
 * Push a presence state for a provider (`CustomPresence:alice`). subtype and
 * message may be NULL; "" means the same as NULL (unset).
 * @return 0, SIPPRES_E_INVAL, SIPPRES_E_REENTRANT, SIPPRES_E_NOMEM, SIPPRES_E_TOOBIG.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_presence_state_set(struct sippres_ctx *ctx, const char *provider, int state,
                                              const char *subtype, const char *message);

/**
 * Add or update a call on a device, keyed by call->call_id. A call in state
 * SIPPRES_CALL_TERMINATED is removed. Call details fire no watcher by
 * themselves: push them before the device state they explain.
 * @return 0, SIPPRES_E_INVAL, SIPPRES_E_ABI, SIPPRES_E_NOMEM, SIPPRES_E_TOOBIG.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_call_set(struct sippres_ctx *ctx, const char *device, const struct sippres_call *call);
/** Remove a call from a device. @return 0 or SIPPRES_E_NOTFOUND / SIPPRES_E_INVAL. @since 0.1 */
SIPPRES_EXPORT int sippres_call_clear(struct sippres_ctx *ctx, const char *device, const char *call_id);
/** @} */

/* ------------------------------------------------------------------------- */
/* ---- NOTIFY bodies -------------------------------------------------------- */
/** @defgroup bodies NOTIFY body generators
 * The library renders NOTIFY bodies itself: application/pidf+xml (with the
 * RPID and Digium supplements), application/xpidf+xml,
 * application/cpim-pidf+xml (XPIDF content, as Asterisk sends it) and
 * application/dialog-info+xml. Generators are registered per context, keyed
 * by content type; the built-ins are registered when the context is created,
 * and the host may unregister any of them or register its own generators and
 * supplements, which write through the escaping XML writer (sippres_xml_*).
 * docs/bodies.md describes every body, profile and vendor option.
 * @{ */

/** Body profiles: how a body is rendered. @since 0.1 */
enum sippres_profile {
	SIPPRES_PROFILE_STANDARD = 0, /**< RFC-correct, schema-valid bodies (the default) */
	SIPPRES_PROFILE_ASTERISK = 1  /**< byte-for-byte what Asterisk (PJSIP) sends */
};

/** Content types of the built-in generators. @since 0.1 */
#define SIPPRES_CONTENT_TYPE_PIDF "application/pidf+xml"
/** Content type of the XPIDF generator. @since 0.1 */
#define SIPPRES_CONTENT_TYPE_XPIDF "application/xpidf+xml"
/** Content type of the XPIDF body labelled cpim-pidf, as Asterisk sends it. @since 0.1 */
#define SIPPRES_CONTENT_TYPE_CPIM_PIDF "application/cpim-pidf+xml"
/** Content type of the dialog-info generator. @since 0.1 */
#define SIPPRES_CONTENT_TYPE_DIALOG_INFO "application/dialog-info+xml"

/** @name Endpoint body options (sippres_body_input.flags)
 * @{ */
/** dialog-info: report an extension that is in use and ringing (ring while
 *  busy) as `early` rather than `confirmed`, so the ringing call can be
 *  picked up. Asterisk's `notify_early_inuse_ringing`; Cisco SPA phones need
 *  it. Both profiles. @since 0.1 */
#define SIPPRES_BODY_EARLY_INUSE_RINGING 0x1u
/** dialog-info, standard profile: report at most one `<dialog>` (the most
 *  interesting one: early > confirmed > terminated). Linksys SPA962 crashes on
 *  several dialogs and Cisco SPA9000 assumes one. The asterisk profile always
 *  sends exactly one dialog. @since 0.1 */
#define SIPPRES_BODY_SINGLE_DIALOG 0x2u
/** dialog-info, standard profile: when nothing is going on, send one dummy
 *  `<dialog id="EXTEN"><state>terminated</state></dialog>` instead of an empty
 *  document. Bria, Aastra and Yealink misbehave on an empty document. The
 *  asterisk profile always sends this dialog. @since 0.1 */
#define SIPPRES_BODY_DUMMY_DIALOG 0x4u
/** @} */

/**
 * What a body is rendered from: one resource (hinted extension) as one
 * subscriber sees it. Strings are NUL-terminated UTF-8 (invalid UTF-8 and
 * characters XML forbids are replaced by U+FFFD in the body; everything is
 * escaped). NULL strings are "not known". The host sets size = sizeof.
 * @since 0.1
 */
struct sippres_body_input {
	size_t size;                  /**< sizeof(struct sippres_body_input) */
	uint32_t profile;             /**< enum sippres_profile */
	uint32_t flags;               /**< SIPPRES_BODY_* options of the subscriber's endpoint */
	const char *exten;            /**< resource (extension) name; required, not empty */
	const char *local_uri;        /**< the presentity: SUBSCRIBE Request-URI with the user replaced by
	                                   the resource, port kept (sip:1000@192.0.2.10:5060); required */
	const char *remote_uri;       /**< the subscriber: From URI without port (sip:carol@192.0.2.20);
	                                   used by the asterisk profile (PIDF contact, XPIDF address) */
	const char *domain;           /**< host for dialog-info identities built from numbers;
	                                   NULL: the host part of local_uri */
	const char *user_agent;       /**< User-Agent of the initial SUBSCRIBE, NULL if none */
	int32_t exten_state;          /**< enum sippres_exten_state bits */
	uint32_t presence_state;      /**< enum sippres_presence_state, NOT_SET..DND (INVALID is refused) */
	const char *presence_subtype; /**< NULL or "" when unset */
	const char *presence_message; /**< NULL or "" when unset */
	const struct sippres_device_info *devices; /**< the hint's devices with their causing calls */
	/** number of entries in devices */
	size_t n_devices;
	const struct sippres_call *causing_call; /**< the oldest ringing call (for pickup), else NULL */
	uint32_t version;             /**< dialog-info version to render (the subscription's counter) */
};

/**
 * A rendered body: a view into the context, valid until the next
 * sippres_body_render() on the same context or its destruction.
 * The host sets size = sizeof before the call.
 * @since 0.1
 */
struct sippres_body {
	size_t size;              /**< sizeof(struct sippres_body) */
	const char *content_type; /**< the generator's content type (NUL-terminated) */
	const char *data;         /**< the body (also NUL-terminated, the NUL is not counted) */
	size_t len;               /**< body length in bytes */
	size_t version_offset;    /**< where the dialog-info version digits start in data */
	size_t version_len;       /**< how many digits; 0 when the body has no version */
};

/**
 * Render the body of one content type.
 * Content types compare case-insensitively; parameters (";charset=...") are
 * not allowed here. The generator writes the XML prolog line, runs the
 * supplements registered for the type and checks that the document is
 * complete.
 * @return 0; SIPPRES_E_NOTFOUND when no generator is registered for the type;
 *         SIPPRES_E_INVAL, SIPPRES_E_ABI, SIPPRES_E_NOMEM, SIPPRES_E_RANDOM,
 *         SIPPRES_E_TOOBIG, SIPPRES_E_CALLBACK (a host generator or
 *         supplement failed), SIPPRES_E_REENTRANT (called from a generator).
 *         On failure out is untouched.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_body_render(struct sippres_ctx *ctx, const char *content_type,
                                       const struct sippres_body_input *in, struct sippres_body *out);

/**
 * Copy a rendered body with its version digits replaced by version: the way
 * to send one rendering to many subscriptions whose counters differ.
 * buf_size of body->len + 10 is always enough.
 * @param ret_len receives the new length (the copy is not NUL-terminated).
 * @return 0; SIPPRES_E_INVAL (no version in body, NULL arguments);
 *         SIPPRES_E_TOOBIG (buf too small; nothing written).
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_body_patch_version(const struct sippres_body *body, uint32_t version,
                                              char *buf, size_t buf_size, size_t *ret_len);

/**
 * @return 1 if a generator is registered for content_type, 0 if not, or
 *         SIPPRES_E_INVAL.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_body_supported(struct sippres_ctx *ctx, const char *content_type);

/** The escaping XML writer handed to host generators and supplements. Valid
 *  only during the callback. @since 0.1 */
struct sippres_xml;

/** Where a supplement is called (its hook argument). @since 0.1 */
enum sippres_body_hook {
	SIPPRES_BODY_HOOK_ROOT = 0, /**< the root start tag is open: add attributes (namespace declarations) */
	SIPPRES_BODY_HOOK_MAIN = 1, /**< after the generator's main children (PIDF tuples, dialogs) */
	SIPPRES_BODY_HOOK_END = 2   /**< just before the root closes (PIDF dm:person and other extensions) */
};

/**
 * Register a generator for a content type, replacing the one registered
 * (built-in or not). generate writes the root element and everything in it
 * through xml (the library has written the prolog line) and calls
 * sippres_xml_supplements() at the hook points it supports.
 * @param generate returns 0, or < 0 to fail the render with SIPPRES_E_CALLBACK.
 * @return 0 (added), 1 (replaced), SIPPRES_E_INVAL, SIPPRES_E_NOMEM, SIPPRES_E_REENTRANT.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_body_generator_register(struct sippres_ctx *ctx, const char *content_type,
                                                   int (*generate)(void *user_data, struct sippres_xml *xml,
                                                                   const struct sippres_body_input *in),
                                                   void *user_data);
/**
 * Unregister the generator of a content type (this is how a built-in one is
 * disabled). Supplements registered for the type stay registered.
 * @return 0, SIPPRES_E_NOTFOUND, SIPPRES_E_INVAL, SIPPRES_E_REENTRANT.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_body_generator_unregister(struct sippres_ctx *ctx, const char *content_type);

/**
 * Register a supplement for a content type under a name. Supplements run in
 * registration order at each hook point; registering an existing name
 * replaces it in place. The built-in ones for application/pidf+xml are
 * "digium" (Digium/Sangoma presence tuple) and "rpid" (eyeBeam/RPID person),
 * registered in that order.
 * @param supplement called at every hook the generator offers; returns 0, or
 *        < 0 to fail the render with SIPPRES_E_CALLBACK.
 * @return 0 (added), 1 (replaced), SIPPRES_E_INVAL, SIPPRES_E_NOMEM, SIPPRES_E_REENTRANT.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_body_supplement_register(struct sippres_ctx *ctx, const char *content_type,
                                                    const char *name,
                                                    int (*supplement)(void *user_data, struct sippres_xml *xml,
                                                                      const struct sippres_body_input *in,
                                                                      uint32_t hook),
                                                    void *user_data);
/** Unregister a supplement (e.g. "digium" or "rpid" of application/pidf+xml).
 *  @return 0, SIPPRES_E_NOTFOUND, SIPPRES_E_INVAL, SIPPRES_E_REENTRANT. @since 0.1 */
SIPPRES_EXPORT int sippres_body_supplement_unregister(struct sippres_ctx *ctx, const char *content_type,
                                                      const char *name);

/**
 * Open an element. name is an XML name (ASCII letters, digits, `_ - . :`,
 * not starting with a digit, `-` or `.`), at most 64 elements deep.
 * Writer errors are sticky: after the first failure every call returns it.
 * @return 0, SIPPRES_E_INVAL, SIPPRES_E_NOMEM, SIPPRES_E_TOOBIG.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_xml_start(struct sippres_xml *xml, const char *name);
/**
 * Add an attribute to the element just opened (before any child or text).
 * The value is escaped; len is its length in bytes, or (size_t)-1 for a
 * NUL-terminated value. An embedded NUL becomes U+FFFD. A name the element
 * already has is SIPPRES_E_INVAL (since 0.2: it was written twice, which is
 * not well-formed XML).
 * @return 0, SIPPRES_E_INVAL, SIPPRES_E_NOMEM, SIPPRES_E_TOOBIG. @since 0.1
 */
SIPPRES_EXPORT int sippres_xml_attr(struct sippres_xml *xml, const char *name, const char *value, size_t len);
/** Add escaped text to the open element (not after a child element); len as
 *  for sippres_xml_attr. @return as sippres_xml_attr. @since 0.1 */
SIPPRES_EXPORT int sippres_xml_text(struct sippres_xml *xml, const char *text, size_t len);
/** Close the innermost open element. @return 0 or the sticky error / SIPPRES_E_INVAL. @since 0.1 */
SIPPRES_EXPORT int sippres_xml_end(struct sippres_xml *xml);
/**
 * From a host generator: run the supplements registered for the content type
 * being rendered at one hook point (enum sippres_body_hook).
 * @return 0, a writer error, or SIPPRES_E_CALLBACK. @since 0.1
 */
SIPPRES_EXPORT int sippres_xml_supplements(struct sippres_xml *xml, uint32_t hook);
/** @} */
/* ---- end of NOTIFY bodies ------------------------------------------------- */

/** @defgroup subs Subscriptions (RFC 6665 notifier)
 * The host hands over a SUBSCRIBE's facts; the library decides the response,
 * keeps the subscription and produces every NOTIFY through the notify
 * callback. The NOTIFY that follows a 200 (initial, refresh, unsubscribe) is
 * queued and sent from sippres_ctx_handle_timeout(), so the host can send its
 * response first: sippres_ctx_next_timeout() reports it as due at once. State
 * changes notify synchronously, inside the call that changed the state.
 *
 * Times are milliseconds on a clock the host chooses (now_ms). A host that
 * persists subscriptions across restarts must use a clock that survives them
 * (wall-clock milliseconds), because records hold absolute expiry times.
 *
 * Lifetime: a struct sippres_sub is valid from the call that made it
 * (sippres_subscribe(), sippres_sub_restore()) until it ends: the forget
 * callback announces the end, and the pointer is invalid once that callback
 * returns (without a forget callback: once the call during which it ended
 * returns). Passing it to any function after that is undefined behaviour, as for any
 * freed object: the library cannot tell a stale pointer from a live one
 * without keeping one more index. Hosts do as nghttp2 asks for stream ids:
 * drop the pointer in forget, or keep the dialog's Call-ID and local tag and
 * look the subscription up with sippres_sub_find() for each request, which
 * returns NULL once it has ended (since 0.2, docs/security.md).
 * @{ */

#define SIPPRES_ENDPOINT_DENY_SUBSCRIBE 0x1u            /**< allow_subscribe=no: 603. @since 0.1 */
#define SIPPRES_ENDPOINT_NOTIFY_EARLY_INUSE_RINGING 0x2u /**< pjsip.conf's notify_early_inuse_ringing: the same as
                                                          SIPPRES_BODY_EARLY_INUSE_RINGING in body_options (either
                                                          sets it). @since 0.1 */

/**
 * Per-endpoint subscription options (pjsip.conf type=endpoint). Zero members
 * mean the documented default.
 * @since 0.1
 */
struct sippres_endpoint {
	/** sizeof(struct sippres_endpoint), set by the host */
	size_t size;
	const char *context;            /**< dialplan context; NULL or "": "default" */
	const char *subscribe_context;  /**< context for SUBSCRIBE; NULL or "": context */
	uint32_t profile;               /**< enum sippres_profile */
	uint32_t flags;                 /**< SIPPRES_ENDPOINT_* */
	uint32_t body_options;          /**< vendor body options (SIPPRES_BODY_*) */
	uint32_t sub_min_expiry;        /**< below it: 423 (0: no minimum) */
	uint32_t max_expiry;            /**< granted Expires cap; 0: 3600 */
	uint32_t default_expiry;        /**< when Expires is absent; 0: 3600 */
	uint32_t notify_failure_limit;  /**< NOTIFY failures (408, timeout, 5xx) tolerated in a row
	                                     before the subscription is dropped; 0: drop at the first, as pjsip */
	uint32_t max_notify_size;       /**< list NOTIFY bodies larger than this are split over several
	                                     NOTIFYs; 0: 64000 bytes */
	/** The endpoint's own caller ID as Asterisk's `callerid` option writes it:
	 *  `"Name" <number>`, `Name <number>`, `<number>`, a number alone or a
	 *  name alone; NULL or "": none. The library keeps its name and number
	 *  apart for the host's listings (struct sippres_sub_info); it never
	 *  goes into a body. @since 0.2 */
	const char *callerid;
	/** pjsip.conf's auth=: the names of the auth objects (sippres_auth_set()) that authenticate
	 *  this endpoint's requests, comma-separated; NULL or "": none (the endpoint is not
	 *  challenged). sippres_auth_check() applies it. @since 0.2 */
	const char *auth;
};

/**
 * Add or replace an endpoint. Subscriptions of a replaced endpoint keep going
 * with the new options.
 * @return 0 (new), 1 (replaced), SIPPRES_E_INVAL, SIPPRES_E_ABI, SIPPRES_E_NOMEM.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_endpoint_set(struct sippres_ctx *ctx, const char *name, const struct sippres_endpoint *ep);
/**
 * Remove an endpoint; its subscriptions end with a final NOTIFY
 * (terminated;reason=deactivated).
 * @return 0 or SIPPRES_E_NOTFOUND / SIPPRES_E_INVAL / SIPPRES_E_REENTRANT.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_endpoint_remove(struct sippres_ctx *ctx, const char *name);

#define SIPPRES_SUBSCRIBE_EVENTLIST 0x1u /**< the SUBSCRIBE has Supported: eventlist. @since 0.1 */

/**
 * The facts of an out-of-dialog SUBSCRIBE, as the host's SIP stack parsed
 * them. Strings are NUL-terminated and only read during the call.
 * @since 0.1
 */
struct sippres_subscribe_req {
	/** sizeof(struct sippres_subscribe_req), set by the host */
	size_t size;
	const char *endpoint;     /**< endpoint name (identified/authenticated by the host) */
	const char *ruri_scheme;  /**< "sip", "sips", "tel", ... */
	const char *ruri_user;    /**< the resource (Request-URI user part) */
	const char *ruri_host;    /**< the Request-URI host (required; an IPv6 address with or without brackets) */
	uint32_t ruri_port;       /**< 0: no port in the Request-URI */
	uint32_t flags;           /**< SIPPRES_SUBSCRIBE_* */
	const char *from_uri;     /**< the subscriber's URI (From, without tag) */
	/** the From tag (required) */
	const char *from_tag;
	/** the Call-ID (required) */
	const char *call_id;
	const char *contact;      /**< the subscriber's Contact URI: where NOTIFYs go */
	const char *event;        /**< Event package ("presence", "dialog"); NULL: no Event header */
	const char *event_id;     /**< the Event id parameter, or NULL */
	const char *const *accept; /**< each Accept header value (comma lists and parameters allowed) */
	size_t n_accept;          /**< 0: no Accept header */
	int64_t expires;          /**< Expires value; < 0: no Expires header */
	const char *user_agent;   /**< NULL: none */
	const char *local_tag;    /**< the To tag the host will use; NULL: the library makes one (returned in
	                               sippres_subscribe_res.local_tag). A stack that picks its own tag only
	                               after answering may pass NULL and find its subscriptions through its
	                               own dialog handle (sippres_sub_set_user_data()) instead of
	                               sippres_sub_find(). */
};

/**
 * The decision for a SUBSCRIBE (initial or refresh). The host sets size;
 * strings are views valid until the next call on the context.
 * @since 0.1
 */
struct sippres_subscribe_res {
	/** sizeof(struct sippres_subscribe_res), set by the host */
	size_t size;
	uint32_t status;           /**< SIP status to answer: 200, 400, 403, 404, 406, 416, 423, 481, 489, 500, 603 */
	const char *reason;        /**< reason phrase */
	uint32_t expires;          /**< for 2xx: the Expires header value */
	uint32_t min_expires;      /**< non-zero: add Min-Expires (423) */
	uint32_t require_eventlist; /**< add Require: eventlist */
	const char *local_tag;     /**< for 2xx: the To tag of the dialog */
	const char *allow_events;  /**< add Allow-Events with this value when not NULL (489) */
	const char *accept;        /**< add Accept with this value when not NULL (406) */
};

/** Why a NOTIFY is sent. @since 0.1 */
enum sippres_notify_reason {
	SIPPRES_NOTIFY_INITIAL = 0,  /**< after the 200 to the initial SUBSCRIBE */
	SIPPRES_NOTIFY_CHANGE = 1,   /**< the resource's state changed */
	SIPPRES_NOTIFY_REFRESH = 2,  /**< after the 200 to a refresh */
	SIPPRES_NOTIFY_FINAL = 3,    /**< the subscription ends (unsubscribe, expiry, removal, fetch) */
	SIPPRES_NOTIFY_RESTORED = 4  /**< first NOTIFY after sippres_sub_restore() */
};

/**
 * One NOTIFY to send, handed to the notify callback; views valid until it returns.
 * @since 0.1
 */
struct sippres_notify {
	/** sizeof(struct sippres_notify), set by the library */
	size_t size;
	uint32_t reason;                /**< enum sippres_notify_reason */
	uint32_t cseq;                  /**< CSeq number to use (the library counts per subscription) */
	uint32_t terminated;            /**< 1: final NOTIFY; the sub is freed after the callback */
	uint32_t require_eventlist;     /**< add Require: eventlist */
	const char *event;              /**< Event header value, id echoed: "presence;id=7" */
	const char *subscription_state; /**< "active;expires=599", "terminated;reason=timeout", ... */
	const char *content_type;       /**< NULL: no body */
	/** the body, body_len bytes */
	const char *body;
	/** length of body in bytes */
	size_t body_len;
	const char *call_id;            /**< the dialog */
	const char *local_tag;          /**< our tag (From of the NOTIFY) */
	const char *remote_tag;         /**< the subscriber's tag (To of the NOTIFY) */
	const char *remote_uri;         /**< the subscriber's URI (To) */
	const char *local_uri;          /**< the resource URI (From) */
	const char *contact;            /**< the subscriber's Contact: Request-URI of the NOTIFY */
};

/**
 * Decide an out-of-dialog SUBSCRIBE. For a 200, *ret receives the new
 * subscription and its first NOTIFY is queued (sent by the next
 * sippres_ctx_handle_timeout()). For other answers *ret is untouched. A
 * SIP-level refusal is a decision, not an error: the return value is 0.
 * @return 0, SIPPRES_E_INVAL, SIPPRES_E_ABI, SIPPRES_E_NOMEM, SIPPRES_E_REENTRANT.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_subscribe(struct sippres_ctx *ctx, const struct sippres_subscribe_req *req,
                                     uint64_t now_ms, struct sippres_subscribe_res *res, struct sippres_sub **ret);

/**
 * Decide an in-dialog SUBSCRIBE (refresh, or Expires: 0 to unsubscribe).
 * expires < 0: no Expires header (the endpoint default applies). The NOTIFY
 * that follows is queued; an unsubscribe ends the subscription after it.
 * @return 0 or < 0.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_sub_refresh(struct sippres_ctx *ctx, struct sippres_sub *sub, int64_t expires,
                                       uint64_t now_ms, struct sippres_subscribe_res *res);

/**
 * Report the final response to a NOTIFY (sip_status 408 for a transaction
 * timeout). cseq is the NOTIFY's CSeq; a response to a NOTIFY older than one
 * already answered is ignored (returns 0). Failures count against the endpoint's notify_failure_limit; 481
 * and the RFC 6665 4.2.2 codes always end the subscription (no further NOTIFY;
 * forget fires, then the sub is freed).
 * @return 0, 1 when the subscription ended, or < 0.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_sub_notify_result(struct sippres_ctx *ctx, struct sippres_sub *sub, uint32_t cseq,
                                             int sip_status, uint64_t now_ms);

/**
 * End a subscription from the host side: a final NOTIFY with
 * terminated;reason=deactivated (asterisk profile: terminated) is sent now.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_sub_terminate(struct sippres_ctx *ctx, struct sippres_sub *sub, uint64_t now_ms);

/** Find a subscription by its dialog (Call-ID and our tag). @return NULL if none. @since 0.1 */
SIPPRES_EXPORT
struct sippres_sub *sippres_sub_find(struct sippres_ctx *ctx, const char *call_id, const char *local_tag);
/** Attach host data to a subscription. @since 0.1 */
SIPPRES_EXPORT void sippres_sub_set_user_data(struct sippres_sub *sub, void *user_data);
/** @return the host data attached to a subscription (NULL initially). @since 0.1 */
SIPPRES_EXPORT void *sippres_sub_get_user_data(const struct sippres_sub *sub);

/** A subscription's facts; views valid until the next call on the context. @since 0.1 */
struct sippres_sub_info {
	/** sizeof(struct sippres_sub_info), set by the host */
	size_t size;
	/** the endpoint that subscribed */
	const char *endpoint;
	/** the context the resource was found in */
	const char *context;
	/** the resource (extension or list name) */
	const char *resource;
	/** the event package ("presence" or "dialog") */
	const char *event;
	const char *event_id;       /**< NULL: none */
	/** the content type of the NOTIFY bodies */
	const char *content_type;
	/** the dialog's Call-ID */
	const char *call_id;
	/** our tag (From of the NOTIFYs) */
	const char *local_tag;
	/** the subscriber's tag (To of the NOTIFYs) */
	const char *remote_tag;
	/** the subscriber's URI */
	const char *remote_uri;
	/** the resource URI (From of the NOTIFYs) */
	const char *local_uri;
	/** the subscriber's Contact: where NOTIFYs go */
	const char *contact;
	const char *user_agent;     /**< "" when none */
	/** when the subscription expires, on the host's clock (now_ms) */
	uint64_t expires_at_ms;
	/** CSeq of the next NOTIFY */
	uint32_t next_cseq;
	/** enum sippres_profile of the endpoint */
	uint32_t profile;
	uint32_t version;           /**< next dialog-info version */
	int32_t exten_state;        /**< the resource's current extension state (DEACTIVATED for a list) */
	uint32_t is_list;           /**< 1: an RFC 4662 list subscription (resource is the list) */
	/** the name of the endpoint's caller ID (struct sippres_endpoint callerid),
	 *  NULL: none. @since 0.2 */
	const char *endpoint_cid_name;
	/** the number of the endpoint's caller ID, NULL: none. @since 0.2 */
	const char *endpoint_cid_number;
};

/** Fill info (host sets size). @return 0 or SIPPRES_E_INVAL / SIPPRES_E_ABI. @since 0.1 */
SIPPRES_EXPORT int sippres_sub_get_info(struct sippres_ctx *ctx, const struct sippres_sub *sub,
                                        struct sippres_sub_info *info);
/** Call fn for each subscription (creation order); fn < 0 stops. @return count or < 0. @since 0.1 */
SIPPRES_EXPORT int sippres_sub_foreach(struct sippres_ctx *ctx,
                                       int (*fn)(void *user_data, struct sippres_sub *sub), void *user_data);
/** @return the number of live subscriptions. @since 0.1 */
SIPPRES_EXPORT size_t sippres_sub_count(const struct sippres_ctx *ctx);

/**
 * Recreate a subscription from a record handed to the persist callback
 * (after a restart). Expired records are refused with SIPPRES_E_NOTFOUND
 * (forget is not called: the host deletes the record). A full-state NOTIFY
 * that continues the CSeq and dialog-info version is queued.
 * @return 0, SIPPRES_E_PARSE (corrupt, truncated or unknown version),
 *         SIPPRES_E_NOTFOUND (expired, or endpoint/hint gone), SIPPRES_E_EXISTS, SIPPRES_E_NOMEM.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_sub_restore(struct sippres_ctx *ctx, const void *record, size_t len, uint64_t now_ms,
                                       struct sippres_sub **ret);

/**
 * Tell the context the time. NOTIFYs caused by state changes (which take no
 * time argument) compute Subscription-State expires from the latest now_ms
 * the context was given by this or any other call taking now_ms; a host that
 * runs sippres_ctx_next_timeout() each loop iteration need not call it.
 * Time never goes backwards: an older value is ignored.
 * @return 0 or SIPPRES_E_INVAL.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_ctx_set_time(struct sippres_ctx *ctx, uint64_t now_ms);

/**
 * When the library next needs sippres_ctx_handle_timeout().
 * @return 1 with *deadline_ms set, 0 when nothing is scheduled, or < 0.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_ctx_next_timeout(struct sippres_ctx *ctx, uint64_t now_ms, uint64_t *deadline_ms);
/**
 * Do what is due at now_ms: queued NOTIFYs, subscription expiry (final NOTIFY
 * terminated;reason=timeout), batched list notifications.
 * @return the number of NOTIFYs sent, or < 0.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_ctx_handle_timeout(struct sippres_ctx *ctx, uint64_t now_ms);
/** @} */

/* ------------------------------------------------------------------------- */
/** @defgroup lists Resource lists (RFC 4662)
 * A SUBSCRIBE with Supported: eventlist whose Request-URI user names a list
 * of the same event becomes a list subscription: its NOTIFYs carry a
 * multipart/related body with an RLMI document and one part per member
 * (nested lists as nested multiparts). docs/lists.md has the details.
 * @{ */

/**
 * A resource list (pjsip.conf type=resource_list). Items name extensions
 * (looked up in the subscriber's subscribe_context) or other lists of the
 * same event.
 * @since 0.1
 */
struct sippres_list {
	/** sizeof(struct sippres_list), set by the host */
	size_t size;
	const char *name;               /**< the list's name: the Request-URI user that subscribes to it */
	const char *event;              /**< "presence" or "dialog" (must equal the SUBSCRIBE's Event) */
	const char *const *items;       /**< member names, in order */
	size_t n_items;                 /**< at least 1 */
	uint32_t full_state;            /**< 1: every NOTIFY carries every member (no partial state) */
	uint32_t batch_interval_ms;     /**< notification_batch_interval: coalesce changes (top-level list's value is used) */
	uint32_t resource_display_name; /**< 1: a member's RLMI name is its hint's display name */
};

/**
 * Add or replace a list. Items are trimmed; empty and repeated items are
 * dropped. A replacement applies to new subscriptions and to existing ones
 * at their next refresh.
 * @return 0 (new), 1 (replaced), SIPPRES_E_INVAL, SIPPRES_E_ABI, SIPPRES_E_NOMEM, SIPPRES_E_TOOBIG.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_list_set(struct sippres_ctx *ctx, const struct sippres_list *list);
/** Remove a list definition (existing subscriptions keep their members). @since 0.1 */
SIPPRES_EXPORT int sippres_list_remove(struct sippres_ctx *ctx, const char *name);

/**
 * Load lists from an RFC 4826 document: an rls-services document
 * (`<service uri="sip:NAME@host">` with `<list>` and `<packages>`) or a
 * resource-lists document (each `<list name="...">`, for the given event).
 * Entry URIs' user parts become items; nested `<list>`s become lists named
 * by their name attribute. Parsed with libxml2 without network access, DTDs
 * or entity expansion, at most 10 levels and 1 MiB; a DOCTYPE or a namespace
 * error is SIPPRES_E_PARSE, an allocation failing inside libxml2
 * SIPPRES_E_NOMEM (since 0.2; docs/security.md).
 * @param event  event for resource-lists documents (NULL: "presence"); ignored for rls-services.
 * @param diag   NULL or filled on error (line and message).
 * @return the number of lists loaded (>= 0), SIPPRES_E_PARSE, SIPPRES_E_TOOBIG, SIPPRES_E_NOMEM, SIPPRES_E_INVAL.
 *         Nothing is loaded when the document has an error.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_list_load_xml(struct sippres_ctx *ctx, const char *xml, size_t len, const char *event,
                                         struct sippres_diag *diag);
/** @} */

/* ------------------------------------------------------------------------- */
/** @defgroup config Config loaders (Asterisk extensions.conf and pjsip.conf)
 * Loaders that take the text of Asterisk configuration files and register
 * what they describe: hints from extensions.conf, endpoints (and resource
 * lists) from pjsip.conf. They do no I/O: `#include` goes through a host
 * callback. A bad line is a *problem*: it is reported with its file and line
 * number and loading goes on with the next line, so one typo does not lose a
 * whole file. Loaders add and replace; they never remove what an earlier load
 * registered. docs/mini-ua.md lists every supported key.
 *
 * The syntax is Asterisk's: `[section]` headers, `[name](!)` templates,
 * `[name](tmpl1,tmpl2)` inheritance (the named sections must come earlier),
 * `[name](+)` appending to an earlier section, `key = value` and
 * `key => value` lines, `;` comments, `\;` for a literal semicolon, `;--`
 * ... `--;` block comments, `#include "file"` / `#include file` and
 * `#tryinclude` (bounded depth, no loops).
 *
 * Bounds per load, so that no text makes a load run away: includes nest at
 * most 16 deep and at most 1024 files are included; at most 1048576 lines are
 * kept (lines copied by inheritance count), and their bytes (each line
 * counted as its name, value and about 50 bytes of bookkeeping, inherited
 * copies in full) are at most 16 MiB plus 64 times the bytes of text read
 * (since 0.2); past either bound the line and all later ones are ignored,
 * with one problem. At most 1000 problems are
 * handed to the problem hook, followed by one saying how many more there
 * were (the return value counts them all).
 * @{ */

/**
 * What a `type=outbound-publish` section of pjsip.conf says about where and
 * how to PUBLISH (the transport half; the library keeps only the filter).
 * Given to the host by the library, which sets size. @since 0.2
 */
struct sippres_conf_outbound_publish {
	size_t size;            /**< sizeof(struct sippres_conf_outbound_publish), set by the library */
	const char *server_uri; /**< server_uri: the SIP URI to PUBLISH to (required) */
	const char *from_uri;   /**< from_uri; NULL: the host's own */
	const char *to_uri;     /**< to_uri; NULL: server_uri */
	const char *event;      /**< event: "asterisk-devicestate" (the one package published) */
	uint32_t expiration;    /**< expiration: seconds asked for in Expires (default 3600) */
};

/**
 * What a `type=transport` section of pjsip.conf says (Asterisk's keys), for
 * the host that owns the sockets. Given to the host by the library, which
 * sets size. @since 0.2
 */
struct sippres_conf_transport {
	size_t size;               /**< sizeof(struct sippres_conf_transport), set by the library */
	const char *protocol;      /**< "udp" (the default), "tcp" or "tls", lower case */
	const char *bind;          /**< "ADDR", "ADDR:PORT", "[V6]" or "[V6]:PORT" as written (required) */
	const char *cert_file;     /**< tls: the server certificate (PEM); required for tls */
	const char *priv_key_file; /**< tls: its private key (PEM); required for tls */
	const char *ca_list_file;  /**< tls: the CAs that client certificates must chain to; NULL: none */
	const char *ca_list_path;  /**< tls: a directory of hashed CA certificates; NULL: none */
	uint32_t verify_client;    /**< 1: a client certificate that is presented must verify */
	uint32_t require_client_cert; /**< 1: a client must present a certificate */
	const char *method;        /**< tls: method= as written ("tlsv1_2", ...); NULL: the library default */
	const char *cipher;        /**< tls: cipher= as written (OpenSSL names); NULL: the default */
};

/**
 * Host hooks for a config load. Everything is optional; the host sets size.
 * @since 0.1
 */
struct sippres_config_io {
	size_t size; /**< sizeof(struct sippres_config_io), set by the host */
	void *user_data; /**< handed to every hook */
	/** Read an included file. name is the directive's argument without quotes
	 *  or angle brackets, as written (resolving relative names is the host's
	 *  business). Return 0 with *text and *len set (the text stays valid until
	 *  release), SIPPRES_E_NOTFOUND when the file does not exist (silent for
	 *  `#tryinclude`), or another negative code. NULL: every `#include` is a
	 *  problem. @since 0.1 */
	int (*include)(void *user_data, const char *name, const char **text, size_t *len);
	/** Give back a text that include returned; called once per successful
	 *  include, before the load returns. NULL: nothing to release. @since 0.1 */
	void (*release)(void *user_data, const char *text, size_t len);
	/** A problem: file is the name of the top file or of the included file
	 *  where it was found, diag->line its 1-based line, diag->column the 1-based
	 *  byte column in that line (0 when it concerns the whole line or section),
	 *  diag->message the reason. Problems are reported when the load is done,
	 *  in reading order. NULL: problems are only counted. @since 0.1 */
	void (*problem)(void *user_data, const char *file, const struct sippres_diag *diag);
	/** An object was registered: type "hint" (name "exten@context"),
	 *  "endpoint", "resource_list", "inbound-publication", "outbound-publish",
	 *  "auth", "identify" or "transport" (since 0.2) (name: the section name),
	 *  or "autohints" (since 0.2; name:
	 *  a context whose `autohints = yes` took effect). Hosts use it to
	 *  learn the endpoint names they must identify requests against. @since 0.1 */
	void (*loaded)(void *user_data, const char *type, const char *name);
	/** A `type=outbound-publish` section was loaded: the library registered
	 *  its filter (sippres_outbound_publish_set() under the section's name)
	 *  and hands over what the host needs to send its PUBLISHes; views valid
	 *  during the call. Called before loaded(). NULL: the host does not
	 *  publish. @since 0.2 */
	void (*outbound_publish)(void *user_data, const char *name, const struct sippres_conf_outbound_publish *o);
	/** A `type=transport` section was loaded: where and how the host listens (the library keeps
	 *  nothing of it); views valid during the call. Called before loaded() (type "transport").
	 *  NULL: the host takes no transports from the file. @since 0.2 */
	void (*transport)(void *user_data, const char *name, const struct sippres_conf_transport *t);
};

/**
 * Load hints from Asterisk extensions.conf text.
 *
 * Every `exten => NAME,hint,VALUE` (or `exten = ...`, or `same => hint,VALUE`
 * after an `exten` line) of every context becomes sippres_hint_set(ctx,
 * context, NAME, VALUE). Other priorities, `[general]`, `[globals]` and
 * templates are skipped. A second hint for the same extension and context
 * in one load is a problem and the first one stays, as in Asterisk. A hint
 * the library rejects is a problem positioned at the offending column.
 * `include => ctx` lines (since 0.2) set the context's includes
 * (sippres_context_include_set(), every section of a context adding to one
 * list in reading order); each context of the text gets its list replaced,
 * an empty one if it has no include lines, so a reload replaces them.
 * Including the context itself or the same context twice, or an invalid name,
 * is a problem and the line is ignored; a time restriction (`include =>
 * ctx,08:00-17:00,mon-fri,*,*`) is a problem and the context is included at
 * all times (no wall clock here). `autohints = yes|no` (since 0.2) is
 * sippres_context_autohints_set(ctx, context, SIPPRES_AUTOHINTS_DEFAULT_MAX
 * or 0), also set for every context of the text.
 *
 * @param file name of the text, used in problems and to detect include loops
 *             (NULL: "extensions.conf").
 * @param text the file's bytes (not necessarily NUL-terminated).
 * @param io   NULL, or hooks (size-checked).
 * @return the number of problems (>= 0), or SIPPRES_E_INVAL (bad arguments),
 *         SIPPRES_E_ABI (io size), SIPPRES_E_NOMEM, SIPPRES_E_REENTRANT (called
 *         from a callback). After an error part of the text may be loaded.
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_config_load_extensions(struct sippres_ctx *ctx, const char *file, const char *text,
                                                  size_t len, const struct sippres_config_io *io);

/**
 * Load endpoints, config wizards and resource lists from Asterisk pjsip.conf text.
 *
 * Each non-template section with `type=endpoint` becomes
 * sippres_endpoint_set(ctx, name, ...) with the Asterisk keys context,
 * subscribe_context, allow_subscribe, sub_min_expiry and
 * notify_early_inuse_ringing, and the libsippresence keys presence_profile
 * (standard|asterisk), sub_max_expiry, sub_default_expiry,
 * notify_failure_limit, max_notify_size, dialog_info_single_dialog and
 * dialog_info_dummy_dialog (SIPPRES_BODY_SINGLE_DIALOG / _DUMMY_DIALOG).
 * Other endpoint keys are ignored (Asterisk has many). A bad value is a
 * problem and the endpoint is not loaded (Asterisk refuses such an object
 * too). Each `type=resource_list` section (event, list_item repeatable and
 * comma-separated, full_state, notification_batch_interval,
 * resource_display_name) becomes sippres_list_set(); a duplicated item is a
 * problem and is dropped, a list without event or items is not loaded.
 *
 * Config wizards (since 0.2): each non-template `type=wizard` section makes
 * the endpoint named after it, from its `endpoint/<key>` keys (the endpoint
 * keys above, e.g. `endpoint/context=office`; bad values are problems as for
 * endpoints), as Asterisk's res_pjsip_config_wizard does. With
 * `has_hint=yes` it also makes the hint `exten => <hint_exten>,hint,
 * PJSIP/<section>` with sippres_hint_set() in `hint_context` (default: the
 * `endpoint/context`, else "default"), reported to loaded() as "hint"
 * (name "exten@context") after the endpoint. `hint_exten` is required with
 * has_hint=yes (else a problem at the has_hint line). A bad has_hint,
 * hint_context or hint_exten is a problem and the wizard is not loaded.
 * `hint_application` is ignored (there is no dialplan here), and so are the
 * other wizard keys (aor/, auth/, registration/, identify/, transport,
 * remote_hosts, ...). A wizard and an endpoint section of the same name: the
 * later replaces the earlier, with a problem. When the context already has
 * a hint of its own for the extension with another value (extensions.conf's,
 * loaded first), that hint wins: the wizard's is a problem at hint_exten and
 * is not added (Asterisk refuses a second hint for an extension). The same
 * value (the wizard's hint of an earlier load) is left as it is. The library
 * does not keep where a hint came from: an extensions.conf loaded after
 * pjsip.conf replaces a wizard's hint without a problem, so load
 * extensions.conf first. A load never removes hints: a wizard removed from
 * the file leaves its hint until the host removes it (sippres_hint_remove(),
 * as the mini UA's reload does with the hints a scratch load no longer has).
 *
 * Publications (since 0.2; docs/publish.md has examples):
 * - `type=outbound-publish` (server_uri required, event=asterisk-devicestate
 *   required, from_uri, to_uri, expiration, `@device_state_filter`) becomes
 *   sippres_outbound_publish_set() with the filter, and the io hook
 *   outbound_publish() gets the rest. Other Asterisk keys (outbound_auth,
 *   outbound_proxy, transport, ...) are ignored; event=asterisk-mwi is a
 *   problem (mailbox state is not supported) and the section is not loaded.
 * - `type=asterisk-publication` (device_state, device_state_filter,
 *   devicestate_publish; mailbox_state=yes is a problem) is not registered
 *   on its own: the inbound publications that name it take its values.
 * - `type=inbound-publication`, the section's name being the resource,
 *   becomes sippres_inbound_publication_set(): endpoint= (required),
 *   event_presence= and event_dialog= (any non-empty value enables the
 *   package), event_asterisk-devicestate=NAME (NAME an asterisk-publication
 *   section of this load with device_state=yes; else a problem and the
 *   package stays off), and the libsippresence keys min_expiry, max_expiry
 *   and default_expiry (seconds). A section that enables no package is a
 *   problem and is not loaded. devicestate_publish must name an
 *   outbound-publish section of this load.
 * Authentication and transports (since 0.2; docs/security.md):
 * - `type=auth` (auth_type=userpass|md5, username required, password,
 *   md5_cred, realm, nonce_lifetime, supported_algorithms_uas=MD5,SHA-256)
 *   becomes sippres_auth_set(); `auth_type=digest` is taken as userpass;
 *   google_oauth and password_digest are problems (not loaded).
 * - the endpoint key `auth=` (a comma list, also `endpoint/auth` in a
 *   wizard) becomes sippres_endpoint.auth; a name that is no auth section of
 *   the load is a problem (the endpoint loads, and its requests are answered
 *   500 until the section exists).
 * - `type=identify` (endpoint required, match= repeatable and comma-separated:
 *   addresses, networks, optional ports) becomes sippres_identify_set(); a
 *   host name in match, match_header and match_request_uri are problems and
 *   are ignored.
 * - `type=transport` (protocol=udp|tcp|tls, bind required, cert_file and
 *   priv_key_file required for tls, ca_list_file, ca_list_path,
 *   verify_client, require_client_cert, method, cipher) goes to the io hook
 *   transport(); ws/wss are problems. Asterisk's NAT, QoS and keepalive keys
 *   are ignored.
 * Sections are applied in this order (outbound-publish, then
 * inbound-publication, then auth, identify and transport) after the
 * endpoints and lists, so a section may name one written further down. Sections of other types are ignored; a section
 * without type is a problem.
 *
 * @param file as for sippres_config_load_extensions() (NULL: "pjsip.conf").
 * @return the number of problems (>= 0) or < 0 as for sippres_config_load_extensions().
 * @since 0.1
 */
SIPPRES_EXPORT int sippres_config_load_pjsip(struct sippres_ctx *ctx, const char *file, const char *text,
                                             size_t len, const struct sippres_config_io *io);
/** @} */

/**
 * @defgroup publish Publications (RFC 3903)
 * The library as an event state compositor: the host hands over a PUBLISH's
 * facts, the library answers with the decision, keeps the publication with
 * its entity-tag and expiry, and turns its body into the state hints
 * aggregate. A PUBLISH to resource R sets:
 * - Event presence (application/pidf+xml): presence provider `Publish:R`;
 * - Event dialog (application/dialog-info+xml): device `Dialog/R` and, per
 *   dialog, its call (sippres_call_set());
 * - Event asterisk-devicestate (application/json, Asterisk's device state
 *   exchange): the device the body names, unless the body carries this
 *   context's own entity id or the resource's device_state_filter does not
 *   match; a `refresh` request is answered by publishing every current
 *   device state back through the publication's devicestate_publish.
 * So `exten => 1000,hint,PJSIP/alice&Dialog/1000,Publish:1000` aggregates
 * all three. docs/publish.md has the mappings and the composition policy.
 * @{
 */

/** The event packages a resource accepts publications of (bits). @since 0.2 */
enum sippres_publish_event {
	SIPPRES_PUBLISH_PRESENCE = 1 << 0,   /**< Event: presence, application/pidf+xml */
	SIPPRES_PUBLISH_DIALOG = 1 << 1,     /**< Event: dialog, application/dialog-info+xml */
	SIPPRES_PUBLISH_DEVICESTATE = 1 << 2 /**< Event: asterisk-devicestate, application/json */
};

/**
 * A resource that may be published to (Asterisk's type=inbound-publication,
 * with its asterisk-publication). The host sets size; strings are copied.
 * @since 0.2
 */
struct sippres_inbound_publication {
	size_t size;                     /**< sizeof(struct sippres_inbound_publication), set by the host */
	const char *endpoint;            /**< the endpoint that may publish here (required) */
	uint32_t events;                 /**< SIPPRES_PUBLISH_* bits (at least one) */
	uint32_t min_expiry;             /**< seconds; shorter requests get 423 (0: 60) */
	uint32_t max_expiry;             /**< seconds; longer requests are shortened (0: 3600) */
	uint32_t default_expiry;         /**< seconds, for a PUBLISH without Expires (0: 3600) */
	const char *device_state_filter; /**< asterisk-devicestate: a POSIX extended regular expression,
	                                      case-insensitive, unanchored; devices it does not match are
	                                      ignored. NULL or "": every device */
	const char *devicestate_publish; /**< asterisk-devicestate: the outbound publish a refresh request
	                                      is answered through; NULL: refresh requests are ignored */
};

/**
 * Add or replace the inbound publication of resource (the Request-URI's user
 * part). Replacing keeps its live publications unless their event is no
 * longer enabled (those end, as removal does).
 * @return 0 added, 1 replaced, SIPPRES_E_INVAL (bad name, endpoint, events,
 *         expiries or filter), SIPPRES_E_ABI, SIPPRES_E_NOMEM, SIPPRES_E_REENTRANT.
 * @since 0.2
 */
SIPPRES_EXPORT int sippres_inbound_publication_set(struct sippres_ctx *ctx, const char *resource,
                                                   const struct sippres_inbound_publication *p);
/** Remove it; its live publications end (their state goes, their records are
 *  forgotten). @return 0, SIPPRES_E_NOTFOUND, SIPPRES_E_INVAL. @since 0.2 */
SIPPRES_EXPORT int sippres_inbound_publication_remove(struct sippres_ctx *ctx, const char *resource);

/**
 * The facts of a PUBLISH request. Strings are NUL-terminated and read only
 * during the call; the body is (body, body_len).
 * @since 0.2
 */
struct sippres_publish_req {
	size_t size;              /**< sizeof(struct sippres_publish_req), set by the host */
	const char *endpoint;     /**< the publisher's endpoint (identified by the host) */
	const char *resource;     /**< the Request-URI's user part */
	const char *event;        /**< the Event header's package, without parameters; NULL: none */
	int64_t expires;          /**< Expires; < 0: no Expires header */
	const char *if_match;     /**< SIP-If-Match; NULL: none (an initial publication) */
	const char *content_type; /**< Content-Type without parameters; NULL: no body */
	const char *body;         /**< the body; NULL or body_len 0: none */
	size_t body_len;          /**< the body's length in bytes */
};

/**
 * The decision for a PUBLISH. The host sets size; strings are views valid
 * until the next call on the context.
 * @since 0.2
 */
struct sippres_publish_res {
	size_t size;              /**< sizeof(struct sippres_publish_res), set by the host */
	uint32_t status;          /**< 200, 400, 403, 404, 412, 415, 423, 489 or 500 */
	const char *reason;       /**< the reason phrase */
	const char *etag;         /**< 200: the SIP-ETag header value (NULL after a removal) */
	uint32_t expires;         /**< 200: the Expires header value (0 after a removal) */
	uint32_t min_expires;     /**< 423: the Min-Expires header value */
	const char *allow_events; /**< 489: the Allow-Events header value */
	const char *accept;       /**< 415: the Accept header value */
};

/**
 * Decide a PUBLISH and carry it out (RFC 3903): an initial publication (a
 * body, no SIP-If-Match), a refresh (SIP-If-Match, no body), a modify
 * (SIP-If-Match and a body) or a removal (SIP-If-Match, Expires: 0). Every
 * 200 but a removal's carries a new entity-tag. The checks, in order: the
 * endpoint exists (else 403), the Event is a known package (489 with
 * Allow-Events), the resource has an inbound publication with that package
 * (404), the endpoint is the one it names (403), Expires is 0 or at least
 * the minimum (423 with Min-Expires), SIP-If-Match names a live publication
 * of this resource and event (412), an initial publication has a body
 * (400), the body's type is the package's (415 with Accept), the body parses
 * (400). Bodies that fail leave the state as it was.
 * @return 0 with the decision in res; SIPPRES_E_INVAL, SIPPRES_E_ABI,
 *         SIPPRES_E_NOMEM or SIPPRES_E_RANDOM (the random callback failed, or
 *         kept giving entity-tags already in use; nothing changed; answer
 *         500), SIPPRES_E_REENTRANT.
 * @since 0.2
 */
SIPPRES_EXPORT int sippres_publish(struct sippres_ctx *ctx, const struct sippres_publish_req *req, uint64_t now_ms,
                                   struct sippres_publish_res *res);

/** What a live publication is; views valid until the next call. @since 0.2 */
struct sippres_publication_info {
	size_t size;              /**< sizeof(struct sippres_publication_info), set by the host */
	const char *resource;     /**< the resource published to */
	const char *event;        /**< the event package */
	const char *endpoint;     /**< the endpoint that publishes */
	const char *etag;         /**< the current entity-tag */
	const char *content_type; /**< the body's type */
	uint64_t expires_at_ms;   /**< absolute, on the host's clock */
	size_t body_len;          /**< the body that is in force */
};
/** @return 0, SIPPRES_E_INVAL, SIPPRES_E_ABI. @since 0.2 */
SIPPRES_EXPORT int sippres_publication_get_info(struct sippres_ctx *ctx, const struct sippres_publication *pub,
                                                struct sippres_publication_info *info);
/** Call fn for every live publication (oldest first) until it returns < 0.
 *  Only callback-safe calls inside. @return the number visited. @since 0.2 */
SIPPRES_EXPORT int sippres_publication_foreach(struct sippres_ctx *ctx,
                                               int (*fn)(void *user_data, struct sippres_publication *pub),
                                               void *user_data);
/** @return the number of live publications. @since 0.2 */
SIPPRES_EXPORT size_t sippres_publication_count(const struct sippres_ctx *ctx);
/**
 * Bring back a publication from its record (the persist_publication
 * callback's), as after a restart: its state applies again, with the same
 * entity-tag and expiry.
 * @return 0 (*ret set), SIPPRES_E_PARSE (corrupt record), SIPPRES_E_NOTFOUND
 *         (expired, or its resource or event is no longer configured),
 *         SIPPRES_E_EXISTS (that entity-tag is live), SIPPRES_E_NOMEM,
 *         SIPPRES_E_INVAL, SIPPRES_E_REENTRANT.
 * @since 0.2
 */
SIPPRES_EXPORT int sippres_publication_restore(struct sippres_ctx *ctx, const void *record, size_t len,
                                               uint64_t now_ms, struct sippres_publication **ret);

/**
 * Where this context's own device changes are published as
 * asterisk-devicestate (Asterisk's type=outbound-publish with
 * event=asterisk-devicestate). Every change of a device's state made through
 * sippres_device_state_set() (or by a presence or dialog publication), but
 * not one that came in as asterisk-devicestate, goes to the publish callback
 * for each outbound publish whose filter matches the device.
 * @since 0.2
 */
struct sippres_outbound_publish {
	size_t size;                     /**< sizeof(struct sippres_outbound_publish), set by the host */
	const char *device_state_filter; /**< POSIX extended, case-insensitive, unanchored; NULL or "": all */
};
/** Add or replace one. @return 0 added, 1 replaced, SIPPRES_E_INVAL, SIPPRES_E_ABI, SIPPRES_E_NOMEM. @since 0.2 */
SIPPRES_EXPORT int sippres_outbound_publish_set(struct sippres_ctx *ctx, const char *name,
                                                const struct sippres_outbound_publish *o);
/** @return 0, SIPPRES_E_NOTFOUND, SIPPRES_E_INVAL. @since 0.2 */
SIPPRES_EXPORT int sippres_outbound_publish_remove(struct sippres_ctx *ctx, const char *name);
/**
 * Publish, through outbound publish name, a refresh request (so the peer
 * sends its states back) and then the state of every device the filter
 * matches, as a starting Asterisk does. Call it when the peer is first
 * reached and after a reconnection.
 * @return the number of bodies handed to the publish callback, or
 *         SIPPRES_E_NOTFOUND, SIPPRES_E_INVAL, SIPPRES_E_CALLBACK (the callback
 *         failed), SIPPRES_E_NOMEM, SIPPRES_E_REENTRANT.
 * @since 0.2
 */
SIPPRES_EXPORT int sippres_outbound_publish_resync(struct sippres_ctx *ctx, const char *name);

/**
 * Set this context's entity id, the "eid" of the asterisk-devicestate bodies
 * it sends: six hex pairs separated by ':' (Asterisk uses a MAC address).
 * A context starts with one made from its random hash seed (a locally
 * administered address); servers that exchange state should each set theirs.
 * @return 0 or SIPPRES_E_INVAL. @since 0.2
 */
SIPPRES_EXPORT int sippres_ctx_set_eid(struct sippres_ctx *ctx, const char *eid);
/** The entity id, lower case. NULL for a NULL ctx. @since 0.2 */
SIPPRES_EXPORT const char *sippres_ctx_get_eid(const struct sippres_ctx *ctx);
/** @} */

/**
 * @defgroup auth Authentication and identification
 * Who a request comes from, and whether it proved it: the policy of Asterisk's
 * pjsip.conf `type=auth` and `type=identify` sections and the endpoint's
 * `auth=`, decided by the library; the digest mechanics (nonces, hashes,
 * the Authorization and WWW-Authenticate headers) stay with the host.
 *
 * The host calls sippres_auth_check() for every request it would hand to
 * sippres_subscribe(), sippres_sub_refresh() or sippres_publish(), with the
 * From user, the source address and the username and realm of each of the
 * request's Authorization headers. The library identifies the endpoint (in
 * Asterisk's default order: `type=identify` by source address, then the
 * endpoint named by the From user, then `[anonymous]`; in a dialog the
 * dialog's endpoint), and when that endpoint has auth= it asks the host,
 * through the verify hook, to check the credentials that name one of its
 * auth objects. The decision is SIPPRES_AUTH_ACCEPT (go on with the endpoint
 * named in the result), SIPPRES_AUTH_CHALLENGE (answer 401 with one
 * WWW-Authenticate per challenge and algorithm) or SIPPRES_AUTH_FORBID
 * (answer the status given: 403, or 500 when the endpoint names no
 * configured auth).
 * @{ */

#define SIPPRES_AUTH_USERPASS 0u /**< auth_type=userpass: a plain password. @since 0.2 */
#define SIPPRES_AUTH_MD5 1u      /**< auth_type=md5: md5_cred, the MD5 of "username:realm:password". @since 0.2 */

#define SIPPRES_AUTH_ALG_MD5 0x1u    /**< digest algorithm MD5 (RFC 2617, RFC 7616). @since 0.2 */
#define SIPPRES_AUTH_ALG_SHA256 0x2u /**< digest algorithm SHA-256 (RFC 7616, RFC 8760). @since 0.2 */

/** A nonce's lifetime when the auth object gives none: Asterisk's nonce_lifetime default (seconds). @since 0.2 */
#define SIPPRES_AUTH_DEFAULT_NONCE_LIFETIME 32
/** The realm when the auth object gives none: Asterisk's default_realm. @since 0.2 */
#define SIPPRES_AUTH_DEFAULT_REALM "asterisk"

/**
 * An auth object (pjsip.conf `type=auth`), as the server checks it.
 * @since 0.2
 */
struct sippres_auth {
	size_t size;             /**< sizeof(struct sippres_auth), set by the host */
	uint32_t type;           /**< SIPPRES_AUTH_USERPASS or SIPPRES_AUTH_MD5 */
	uint32_t algorithms;     /**< SIPPRES_AUTH_ALG_* offered in challenges; 0: SHA-256 and MD5 for
	                              userpass, MD5 for md5 (whose md5_cred serves MD5 only) */
	const char *username;    /**< the digest username (required, non-empty) */
	const char *password;    /**< userpass: the password (NULL: "") */
	const char *md5_cred;    /**< md5: 32 hex digits */
	const char *realm;       /**< NULL or "": SIPPRES_AUTH_DEFAULT_REALM */
	uint32_t nonce_lifetime; /**< seconds a nonce stays fresh; 0: SIPPRES_AUTH_DEFAULT_NONCE_LIFETIME */
};
/**
 * Add or replace an auth object. Usernames and realms are UTF-8 without
 * control characters, double quotes or backslashes (they go into quoted
 * header parameters).
 * @return 0 added, 1 replaced, SIPPRES_E_INVAL, SIPPRES_E_ABI, SIPPRES_E_NOMEM.
 * @since 0.2
 */
SIPPRES_EXPORT int sippres_auth_set(struct sippres_ctx *ctx, const char *name, const struct sippres_auth *auth);
/** @return 0, SIPPRES_E_NOTFOUND, SIPPRES_E_INVAL. @since 0.2 */
SIPPRES_EXPORT int sippres_auth_remove(struct sippres_ctx *ctx, const char *name);

/**
 * An identify object (pjsip.conf `type=identify`): requests whose source
 * address matches one of match belong to endpoint.
 * @since 0.2
 */
struct sippres_identify {
	size_t size;               /**< sizeof(struct sippres_identify), set by the host */
	const char *endpoint;      /**< the endpoint identified (required) */
	const char *const *match;  /**< each an address with an optional port and prefix: "192.0.2.1",
	                                "192.0.2.0/24", "192.0.2.0/255.255.255.0", "192.0.2.1:5060",
	                                "2001:db8::/32", "[2001:db8::1]:5061/128" */
	size_t n_match;            /**< at least 1 */
};
/**
 * Add or replace an identify object. The endpoint need not exist yet.
 * @return 0 added, 1 replaced, SIPPRES_E_INVAL (a match that is not an
 *         address, bad prefix), SIPPRES_E_ABI, SIPPRES_E_NOMEM.
 * @since 0.2
 */
SIPPRES_EXPORT int sippres_identify_set(struct sippres_ctx *ctx, const char *name, const struct sippres_identify *id);
/** @return 0, SIPPRES_E_NOTFOUND, SIPPRES_E_INVAL. @since 0.2 */
SIPPRES_EXPORT int sippres_identify_remove(struct sippres_ctx *ctx, const char *name);

/** What an Authorization header names (parsed by the host). @since 0.2 */
struct sippres_auth_credential {
	const char *username; /**< its username parameter */
	const char *realm;    /**< its realm parameter */
};

/** The host's verdict on one Authorization header (the verify hook's return value). @since 0.2 */
enum sippres_auth_verdict {
	SIPPRES_AUTH_VERDICT_OK = 0,    /**< the response is right for a nonce the host issued that is fresh
	                                     and was not used before with this nonce count */
	SIPPRES_AUTH_VERDICT_STALE = 1, /**< the response is right but its nonce is too old, unknown, or
	                                     replayed: challenge again with stale=true */
	SIPPRES_AUTH_VERDICT_WRONG = 2  /**< the response is wrong (password, algorithm, parameters) */
};

/** What a response is checked against, handed to the verify hook; views valid during the call. @since 0.2 */
struct sippres_auth_secret {
	size_t size;             /**< sizeof(struct sippres_auth_secret), set by the library */
	const char *auth;        /**< the auth object's name */
	const char *username;    /**< the digest username the response must be for */
	const char *realm;       /**< the realm in effect (never NULL) */
	uint32_t type;           /**< SIPPRES_AUTH_USERPASS or SIPPRES_AUTH_MD5 */
	uint32_t algorithms;     /**< SIPPRES_AUTH_ALG_* the response may use */
	const char *password;    /**< userpass (never NULL) */
	const char *md5_cred;    /**< md5: the HA1 in hex */
	uint32_t nonce_lifetime; /**< seconds */
};

#define SIPPRES_IDENTIFY_NONE 0u      /**< no endpoint. @since 0.2 */
#define SIPPRES_IDENTIFY_IP 1u        /**< by a type=identify match. @since 0.2 */
#define SIPPRES_IDENTIFY_USERNAME 2u  /**< by the From user. @since 0.2 */
#define SIPPRES_IDENTIFY_ANONYMOUS 3u /**< the [anonymous] endpoint. @since 0.2 */
#define SIPPRES_IDENTIFY_DIALOG 4u    /**< the dialog's endpoint (sippres_auth_req.endpoint). @since 0.2 */

/** A request to identify and authenticate. The host sets size. @since 0.2 */
struct sippres_auth_req {
	size_t size;               /**< sizeof(struct sippres_auth_req), set by the host */
	const char *endpoint;      /**< in a dialog: the endpoint of its subscription (skips
	                                identification); NULL: identify */
	const char *from_user;     /**< the From URI's user part; NULL: none */
	const char *source_ip;     /**< the source address in numeric form ("192.0.2.1", "2001:db8::1"); NULL: unknown */
	uint32_t source_port;      /**< 0: unknown */
	uint32_t flags;            /**< 0 */
	const struct sippres_auth_credential *credentials; /**< each Authorization header of the request */
	size_t n_credentials;      /**< how many; 0: the request has none */
	/** Check credentials[index] against secret (the endpoint's auth object whose realm and username
	 *  it names): return an enum sippres_auth_verdict, or < 0 to abort (SIPPRES_E_CALLBACK). Called
	 *  at most once per credential, in the endpoint's auth= order. Required when n_credentials > 0. */
	int (*verify)(void *user_data, size_t index, const struct sippres_auth_secret *secret);
	void *user_data;           /**< for verify */
};

#define SIPPRES_AUTH_ACCEPT 0u    /**< go on with res.endpoint. @since 0.2 */
#define SIPPRES_AUTH_CHALLENGE 1u /**< answer 401 with the challenges. @since 0.2 */
#define SIPPRES_AUTH_FORBID 2u    /**< answer res.status (403, or 500: the endpoint names no auth object
                                       that exists). @since 0.2 */

/** One challenge to send: a WWW-Authenticate per algorithm in it, SHA-256 first. @since 0.2 */
struct sippres_auth_challenge {
	const char *realm;       /**< the realm to challenge with (WWW-Authenticate realm=) */
	uint32_t algorithms;     /**< SIPPRES_AUTH_ALG_* */
	uint32_t stale;          /**< 1: stale=true */
	uint32_t nonce_lifetime; /**< seconds, for the host's nonce */
};

/** The decision. The host sets size; views valid until the next call on the context. @since 0.2 */
struct sippres_auth_res {
	size_t size;             /**< sizeof(struct sippres_auth_res), set by the host */
	uint32_t decision;       /**< SIPPRES_AUTH_ACCEPT, _CHALLENGE or _FORBID */
	uint32_t status;         /**< 0 (accept), 401, 403 or 500 */
	uint32_t identified_by;  /**< SIPPRES_IDENTIFY_* */
	const char *endpoint;    /**< the endpoint identified; NULL: none */
	const char *auth;        /**< accept: the auth object whose credentials verified; NULL: none needed */
	const struct sippres_auth_challenge *challenges; /**< challenge: one per auth object of the endpoint */
	size_t n_challenges;     /**< how many challenges */
	const char *reason;      /**< a short reason, for logs */
};

/**
 * Identify a request's endpoint and decide on its credentials.
 *
 * Identification: req->endpoint when set; else the identify object whose
 * match is the most specific (longest prefix, then one with a port) for
 * source_ip and source_port; else the endpoint named by from_user; else the
 * endpoint "anonymous" when it exists; else FORBID 403. An endpoint named by
 * the From user never falls back to anonymous: `[anonymous]` is the only way
 * in without the credentials of the endpoint one claims.
 *
 * Authentication, for an endpoint with auth=: each auth object is matched
 * with the credentials whose realm is its realm. A credential with its
 * username is verified through the hook; one with another username counts as
 * wrong, as in Asterisk. ACCEPT at the first verdict OK. Otherwise every auth
 * object of the endpoint becomes a challenge (stale when a credential for it
 * was stale), and the decision is FORBID 403 when every auth object met a
 * wrong credential, else CHALLENGE 401 (no credentials yet, another realm,
 * a stale nonce). Asterisk answers the wrong-credential case with 401 and a
 * new challenge; the library answers 403 so that a client with a bad password
 * stops (RFC 6665 4.2.1.3 allows both).
 *
 * @return 0, SIPPRES_E_INVAL, SIPPRES_E_ABI, SIPPRES_E_CALLBACK (verify
 *         returned < 0 or a value out of range), SIPPRES_E_NOMEM.
 * @since 0.2
 */
SIPPRES_EXPORT int sippres_auth_check(struct sippres_ctx *ctx, const struct sippres_auth_req *req,
                                      struct sippres_auth_res *res);
/** @} */
/* ---- replication (cluster) ------------------------------------------------ */
/**
 * @defgroup repl Replication: several servers sharing state
 * Several servers behind one domain share their state through a bus (the
 * optional libsippresence-redis adapter uses Redis; any bus will do). Each
 * server is a *node* with an origin id. Once sippres_repl_start() has named
 * it, every change of this node's *view* of a device (its state as set here,
 * with its calls) or of a presence provider, and every change of a
 * subscription's or publication's record, goes to the replicate callback;
 * the host carries it to the other nodes, which hand view messages to
 * sippres_repl_apply(). Each view message carries its origin and a sequence
 * number, a Lamport clock per node (strictly increasing, and above every
 * number the node has seen), so a stale or duplicated message never wins.
 * The merge rules (docs/cluster.md):
 * - a device's state is the aggregate (sippres_device_state_aggregate()) of
 *   every node's view of it, this node's own included, as Asterisk
 *   aggregates the states its servers (eids) report; its calls are every
 *   node's calls;
 * - a presence provider takes the view with the highest sequence number
 *   (ties: the greater origin id, byte order);
 * - a view replaces the same origin's earlier view of the same device or
 *   provider only when its sequence number is higher.
 * Subscriptions and publications have one owner, the node whose records
 * they are; another node takes them over with sippres_sub_adopt() and
 * sippres_publication_adopt().
 * @{ */

/** Longest origin id, in bytes. @since 0.2 */
#define SIPPRES_MAX_ORIGIN 64

/** What a replication change is about. @since 0.2 */
enum sippres_repl_kind {
	SIPPRES_REPL_DEVICE = 1,       /**< this node's view of a device: its state and calls (key: the device) */
	SIPPRES_REPL_PRESENCE = 2,     /**< this node's view of a presence provider (key: the provider) */
	SIPPRES_REPL_SWEEP = 3,        /**< after sippres_repl_resync(): this node's views re-sent before it
	                                    are all it has (key: "") */
	SIPPRES_REPL_SUBSCRIPTION = 4, /**< a subscription's record (key: "CALL-ID LOCAL-TAG") */
	SIPPRES_REPL_PUBLICATION = 5   /**< a publication's record (key: its entity-tag) */
};

/**
 * One change for the other nodes, handed to the replicate callback; views
 * valid during the call.
 * @since 0.2
 */
struct sippres_repl_change {
	size_t size;        /**< sizeof(struct sippres_repl_change), set by the library */
	uint32_t kind;      /**< enum sippres_repl_kind */
	uint32_t removed;   /**< records: 1 when the subscription or publication ended (data is NULL) */
	const char *origin; /**< this node's origin id */
	uint64_t seq;       /**< the change's sequence number */
	/** Views: the device or provider name ("" for a sweep); a subscription:
	 *  its Call-ID, a space and its local tag; a publication: its entity-tag
	 *  (a refresh changes it: the old key comes first as removed). Each key
	 *  names the latest of its kind from this origin: a store keeps the last
	 *  data per (origin, kind, key) and drops the key when removed. */
	const char *key;
	/** Views: the message for sippres_repl_apply() on the other nodes.
	 *  Records: the record, as the persist (persist_publication) callback
	 *  gets it, for sippres_sub_adopt() (sippres_publication_adopt()). */
	const void *data;
	size_t len;         /**< bytes of data */
};

/**
 * Name this node and turn replication on (the replicate callback is then
 * called). Call it before the state is set, or call sippres_repl_resync()
 * afterwards. origin: 1 to SIPPRES_MAX_ORIGIN bytes of ASCII letters,
 * digits and `-._:`, unique in the cluster. The node's sequence numbers
 * continue above seq_floor: a node that restarts must start above the
 * numbers it used before, so pass a number that grows with the wall clock
 * (the mini UA passes milliseconds since 1970 times 1000).
 * @return 0, SIPPRES_E_INVAL, SIPPRES_E_REENTRANT, SIPPRES_E_NOMEM.
 * @since 0.2
 */
SIPPRES_EXPORT int sippres_repl_start(struct sippres_ctx *ctx, const char *origin, uint64_t seq_floor);

/**
 * Apply a view message another node's replicate callback gave
 * (SIPPRES_REPL_DEVICE, SIPPRES_REPL_PRESENCE, SIPPRES_REPL_SWEEP), by the
 * merge rules above; the watchers and subscriptions of what changed are
 * told, as for a local change. The node's clock moves past seq.
 * @return 1 applied, 0 ignored (stale: not newer than what this node has
 *         from that origin for the same key; a duplicate; this node's own
 *         origin; below a sweep or a drop of that origin),
 *         SIPPRES_E_PARSE (not a view message, corrupt or truncated),
 *         SIPPRES_E_INVAL, SIPPRES_E_TOOBIG (more than 1024 origins),
 *         SIPPRES_E_REENTRANT, SIPPRES_E_NOMEM (nothing changed).
 * @since 0.2
 */
SIPPRES_EXPORT int sippres_repl_apply(struct sippres_ctx *ctx, const void *data, size_t len);

/**
 * Forget every view an origin gave (the node left, or its lease ran out):
 * the states it set no longer count, and the watchers hear of the changes.
 * Its messages up to the highest sequence number seen from it are ignored
 * from now on; newer ones (the node came back) are applied again.
 * @return the number of views dropped, SIPPRES_E_INVAL, SIPPRES_E_REENTRANT.
 * @since 0.2
 */
SIPPRES_EXPORT int sippres_repl_origin_drop(struct sippres_ctx *ctx, const char *origin);

/**
 * Hand everything this node owns to the replicate callback again, with new
 * sequence numbers: every view of a device or provider set here, a sweep
 * (the other nodes drop this node's views that were not re-sent), and the
 * record of every publication and subscription. For a bus that lost them
 * (a Redis that restarted empty) and after a (re)connection.
 * @return the number of changes handed over, SIPPRES_E_INVAL (replication
 *         is not started), SIPPRES_E_REENTRANT, SIPPRES_E_NOMEM.
 * @since 0.2
 */
SIPPRES_EXPORT int sippres_repl_resync(struct sippres_ctx *ctx);

/**
 * Take over a subscription another node owned, from its record (the data
 * of a SIPPRES_REPL_SUBSCRIPTION change): as sippres_sub_restore(), it keeps
 * the dialog and continues the CSeq and the dialog-info (or RLMI) version,
 * and queues the full-state NOTIFY a restart sends (reason
 * SIPPRES_NOTIFY_RESTORED). The record is handed to the persist and
 * replicate callbacks at once, as this node's.
 * @return as sippres_sub_restore().
 * @since 0.2
 */
SIPPRES_EXPORT int sippres_sub_adopt(struct sippres_ctx *ctx, const void *record, size_t len, uint64_t now_ms,
                                     struct sippres_sub **ret);

/**
 * Let go of a subscription another node has taken over: it is freed with no
 * NOTIFY; forget fires (drop this node's copy of the record), replicate
 * does not (the record is the new owner's).
 * @return 0, SIPPRES_E_INVAL, SIPPRES_E_REENTRANT.
 * @since 0.2
 */
SIPPRES_EXPORT int sippres_sub_release(struct sippres_ctx *ctx, struct sippres_sub *sub);

/**
 * Take over a publication another node owned, from its record (the data of
 * a SIPPRES_REPL_PUBLICATION change): as sippres_publication_restore(), then
 * the record goes to the persist_publication and replicate callbacks as
 * this node's.
 * @return as sippres_publication_restore().
 * @since 0.2
 */
SIPPRES_EXPORT int sippres_publication_adopt(struct sippres_ctx *ctx, const void *record, size_t len,
                                             uint64_t now_ms, struct sippres_publication **ret);
/** @} */
/* ---- end of replication ---------------------------------------------------- */

#ifdef __cplusplus
}
#endif

#endif /* LIBSIPPRESENCE_H */
