/**
 * Ranges accepted by the config validator. Each bound names where it comes from; a bound
 * without an outside source says why it was chosen, so it can be argued with.
 */

/** TCP port numbers: 0 means "any port" to bind(2), which a map client could never find. RFC 9293 §3.1. */
export const PORT_MIN = 1;
/** RFC 9293 §3.1: the port field is 16 bits. */
export const PORT_MAX = 65535;

/** Permission bits only: chmod(2) on a socket ignores setuid/setgid/sticky, so larger values are typos (666 for 0o666). */
export const UNIX_MODE_MAX = 0o777;

/**
 * unix(7) on Linux: `sun_path` is 108 bytes including the terminating NUL (104 on the BSDs and
 * macOS). A longer path fails at bind time with a confusing error, so it is refused here.
 */
export const UNIX_PATH_MAX_BYTES = 107;

/**
 * Upper bound of a zone's total resolution deadline. Postfix's socketmap client gives up after
 * 100 s (dict_sockmap.c `DICT_SOCKMAP_DEF_TIMEOUT`); an answer must arrive well before that.
 */
export const ZONE_TIMEOUT_MAX_SEC = 60;

/**
 * Longest `cache_grace`: RFC 8461 §10.2 suggests checking for policy updates about daily, so a
 * grace period (no DNS check at all) longer than a day defeats update detection.
 */
export const CACHE_GRACE_MAX_SEC = 86_400;

/** systemd's default `TimeoutStopSec` is 90 s; ten minutes is already far beyond any service manager's patience. */
export const SHUTDOWN_TIMEOUT_MAX_SEC = 600;

/** A day: remembering "no MTA-STS" longer delays noticing a domain that just published a policy (RFC 8461 §3.3 update detection). */
export const NEGATIVE_CACHE_TTL_MAX_SEC = 86_400;

/** Memory sanity bound for both caches (entries, not bytes): ten million entries is gigabytes already. */
export const CACHE_ENTRIES_MAX = 10_000_000;

/** An hour: an idle connection held longer only costs a file descriptor; Postfix itself drops idle ones after 10 s (dict_sockmap.c `DICT_SOCKMAP_DEF_MAX_IDLE`). */
export const IDLE_TIMEOUT_MAX_SEC = 3_600;

/** Five minutes: a request taking longer to arrive is a stalled or hostile client, not Postfix. */
export const REQUEST_TIMEOUT_MAX_SEC = 300;

/** Connections per listener at most: far above any fd limit a daemon gets. */
export const MAX_CONNECTIONS_MAX = 10_000_000;

/** RFC 8461 §3.2 `max_age` maximum (31557600 s, one year): a refresh interval beyond it could let policies expire. */
export const PROACTIVE_INTERVAL_MAX_SEC = 31_557_600;

/** Bound on concurrent background refreshes; far above the Python tool's default of 100. */
export const PROACTIVE_CONCURRENCY_MAX = 10_000;

/**
 * Largest `proactive_policy_fetching.jitter`: runs are then at least half an interval apart, and
 * a refresh lease (at most interval × (1 − jitter)) always ends before the next run of its holder.
 */
export const PROACTIVE_JITTER_MAX = 0.5;

/** Levenshtein distance at or under which an unknown word gets a "did you mean" hint. */
export const SUGGESTION_MAX_DISTANCE = 3;

/**
 * Longest SQLite busy timeout (`cache.options.timeout`). better-sqlite3 waits synchronously,
 * so this also bounds how long a write stuck behind another process's lock can hold the event
 * loop; Postfix gives up on a socketmap reply after 100 s (dict_sockmap.c `DICT_SOCKMAP_DEF_TIMEOUT`).
 */
export const SQLITE_TIMEOUT_MAX_SEC = 30;

/** The Python tool's `threads` (its connection pool size) is accepted and ignored; this only rejects nonsense. */
export const SQLITE_THREADS_MAX = 1024;

/**
 * Largest configuration file read (1 MiB). A config with 40,000 zones written one per line takes
 * about 600 KB; a file beyond this is refused before it is read, so a wrong `-c` (a log, a disk
 * image) costs neither memory nor minutes of parsing (issue 13: a 50 MB file took 3 GB).
 */
export const CONFIG_FILE_MAX_BYTES = 1_048_576;

/**
 * Mapping entries and list items read through aliases and `<<` merge keys, over the whole file.
 * Each alias is read again where it is used, so a few lines can otherwise name billions of
 * entries (an "alias bomb"). 250,000 allows, for example, 40,000 zones each merging a block
 * of 6 keys, and bounds the extra work to about a second even when every entry is a problem.
 */
export const CONFIG_ALIAS_EXPANSION_MAX = 250_000;
