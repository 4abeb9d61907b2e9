/** Help texts. */
import { PROGRAM } from './io.js';

export const SERVE_USAGE = `Usage: ${PROGRAM} serve [-c FILE] [-v LEVEL] [--log-format text|json]`;
export const QUERY_USAGE = `Usage: ${PROGRAM} query DOMAIN [-c FILE] [--zone NAME] [--json]`;
export const CHECK_CONFIG_USAGE = `Usage: ${PROGRAM} check-config [-c FILE]`;
export const CACHE_USAGE = `Usage: ${PROGRAM} cache list|show DOMAIN|evict DOMAIN [-c FILE] [--json]`;
export const GENERATE_USAGE = `Usage: ${PROGRAM} generate [-c FILE] (--domains FILE|- | --from-cache | --offline) --output PATH
       [--type lmdb|cdb|hash|btree|texthash] [--format postfix|postfix-tlsrpt|exim-lsearch|json] [--zone NAME]
       [--state FILE] [--dry-run] [--concurrency N] [--from-cache] [--offline] [-v LEVEL]
  --domains FILE|-  domains to resolve, one per line (- reads stdin)
  --from-cache      also every domain in the daemon's persistent cache (the cache of -c, or the
                    default sqlite file in the state directory; expired entries included);
                    with --domains: both lists. A memory cache is refused [ECACHE_NOT_PERSISTENT]
  --offline         no DNS or HTTPS: rebuild from the generator's state alone; without --domains
                    or --from-cache, every domain in the state`;

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
  help
      Show this help.

Options:
  -c, --config FILE       configuration file (YAML)
  -v, --log-level LEVEL   error, warn, info or debug (overrides logging.level)
      --zone NAME         zone whose settings apply (query; default: the default zone)
      --json              print JSON (query, cache)
  -h, --help              show this help
      --version           print the version`;
