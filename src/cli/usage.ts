/**
 * Help texts: one per command (what `COMMAND --help` and `help COMMAND` print), each listing
 * every option the command's parser accepts, with its default. A test holds every option of
 * every parser against these texts, and the man page mta-sts-bridge(8) repeats them.
 */
import { PROGRAM } from './io.js';

export const SERVE_USAGE = `Usage: ${PROGRAM} serve [-c FILE] [-v LEVEL]

Run the daemon: answer MTA-STS policy lookups on the configured listeners.
SIGTERM or SIGINT stops it gracefully (a second signal exits at once).

Options:
  -c, --config FILE       configuration file (YAML); default: none, the embedded defaults
                          (socketmap on 127.0.0.1:8461, SQLite cache in the state directory)
  -v, --log-level LEVEL   error, warn, info or debug; default: logging.level (info)
  -h, --help              show this help

Exit: 0 stopped by a signal; 1 could not start (address in use, cache); 2 usage or config error.`;

export const QUERY_USAGE = `Usage: ${PROGRAM} query DOMAIN [-c FILE] [--zone NAME] [--json]

Resolve one domain now, without any cache, and show every step: TXT record, HTTPS fetch,
certificate, parsed policy, timings and the answer Postfix would get.

Options:
  -c, --config FILE       configuration file (YAML); default: the embedded defaults
      --zone NAME         zone whose settings apply; default: the default zone
      --json              print one JSON object instead of text; default: text
  -h, --help              show this help

Exit: 0 a policy was found (any mode); 1 no policy; 2 error.`;

export const CHECK_CONFIG_USAGE = `Usage: ${PROGRAM} check-config [-c FILE]

Validate a configuration file; print OK and a summary, or every problem as
FILE:LINE:COL: dotted.path: message [CODE].

Options:
  -c, --config FILE       configuration file (YAML); default: the embedded defaults
  -h, --help              show this help

Exit: 0 valid; 2 problems found.`;

export const CACHE_USAGE = `Usage: ${PROGRAM} cache list|show DOMAIN|evict DOMAIN [-c FILE] [--json]

Look into the configured persistent cache (sqlite, redis or postgres), not through a running
daemon: list its policies (domain, mode, id, fetched, expires, checked), show one with its
policy text, or evict one. A memory cache is refused [ECACHE_NOT_PERSISTENT].

Options:
  -c, --config FILE       configuration file (YAML); default: the embedded defaults (the
                          sqlite file in the state directory)
      --json              print JSON (list: one object per line); default: text
  -h, --help              show this help

Exit: 0 done; 1 show/evict of an absent domain; 2 error.`;

export const GENERATE_USAGE = `Usage: ${PROGRAM} generate [-c FILE] (--domains FILE|- | --from-cache | --offline) --output PATH [options]

Resolve a list of domains and write a static TLS policy map atomically (Postfix
smtp_tls_policy_maps through postmap, Exim lsearch, or JSON), for cron.

Options:
  -c, --config FILE       configuration file (YAML); default: the embedded defaults
      --domains FILE|-    domains to resolve, one per line, # comments (- reads stdin)
      --from-cache        also every domain in the daemon's persistent cache (the cache of -c,
                          or the default sqlite file in the state directory; expired entries
                          included); with --domains: both lists. A memory cache is refused
                          [ECACHE_NOT_PERSISTENT]
      --offline           no DNS or HTTPS: rebuild from the generator's state alone; without
                          --domains or --from-cache, every domain in the state
  -o, --output PATH       the map to write (required)
      --format FORMAT     postfix, postfix-tlsrpt, exim-lsearch or json; default: postfix
      --type TYPE         postmap type for the postfix formats: lmdb, cdb, hash, btree or
                          texthash; default: lmdb
      --zone NAME         zone whose settings apply; default: the default zone
      --state FILE        state kept between runs; default: PATH.state.sqlite (a name ending
                          in .json selects a JSON file instead)
      --concurrency N     domains resolved at the same time, 1 to 1024; default: 32
      --dry-run           print what would change, write nothing; default: off
  -v, --log-level LEVEL   error, warn, info or debug; default: logging.level (info)
  -h, --help              show this help

Exit: 0 done; 1 done, some domains failed (listed); 2 nothing written.
See README.md, "No daemon? Use cron".`;

export const USAGE = `Usage: ${PROGRAM} <command> [options]

Commands:
  serve [-c FILE] [-v LEVEL]
      Run the daemon. Without -c, the embedded defaults apply (socketmap on 127.0.0.1:8461,
      policies kept in SQLite in the state directory: see README.md, "Policy caches").
      SIGTERM or SIGINT stops it gracefully (a second signal exits at once).
  query DOMAIN [-c FILE] [--zone NAME] [--json]
      Resolve one domain now, without any cache, and show every step: TXT record, HTTPS
      fetch, certificate, parsed policy, timings and the answer Postfix would get.
      Exit 0: a policy was found (any mode); 1: no policy; 2: error.
  check-config [-c FILE]
      Validate a configuration file; print OK and a summary, or every problem. Exit 0 or 2.
  generate --domains FILE|- --output PATH [options]
      Resolve a list of domains (one per line, # comments; --from-cache: also every domain in
      the daemon's persistent cache) and write a static TLS policy map
      atomically (Postfix smtp_tls_policy_maps via postmap, Exim lsearch, or JSON), for cron.
      Exit 0: done; 1: done, some domains failed (listed); 2: nothing written.
      See README.md, "No daemon? Use cron".
  cache list|show DOMAIN|evict DOMAIN [-c FILE] [--json]
      Look into the configured persistent cache (sqlite, redis or postgres): list its policies
      (domain, mode, id, fetched, expires, checked), show one with its policy text, or evict one.
      Exit 0: done; 1: show/evict of an absent domain; 2: error (a memory cache included).
  help [COMMAND]
      Show this help, or the help of COMMAND (as COMMAND --help does).

Options:
  -h, --help              show this help
  -V, --version           print the version
Each command's options: ${PROGRAM} COMMAND --help. Manual: man 8 ${PROGRAM}, man 5 ${PROGRAM}.yml.`;

/** The commands `help TOPIC` knows, with their help texts. */
export const HELP_TOPICS: Readonly<Record<string, string>> = {
  serve: SERVE_USAGE,
  query: QUERY_USAGE,
  'check-config': CHECK_CONFIG_USAGE,
  generate: GENERATE_USAGE,
  cache: CACHE_USAGE,
};

