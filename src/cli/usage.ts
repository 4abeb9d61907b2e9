/** Help texts. */
import { PROGRAM } from './io.js';

export const SERVE_USAGE = `Usage: ${PROGRAM} serve [-c FILE] [-v LEVEL]`;
export const QUERY_USAGE = `Usage: ${PROGRAM} query DOMAIN [-c FILE] [--zone NAME] [--json]`;
export const CHECK_CONFIG_USAGE = `Usage: ${PROGRAM} check-config [-c FILE]`;

export const USAGE = `Usage: ${PROGRAM} <command> [options]

Commands:
  serve [-c FILE] [-v LEVEL]
      Run the daemon. Without -c, the embedded defaults apply (socketmap on 127.0.0.1:8461).
      SIGTERM or SIGINT stops it gracefully (a second signal exits at once).
  query DOMAIN [-c FILE] [--zone NAME] [--json]
      Resolve one domain now, without any cache, and show every step: TXT record, HTTPS
      fetch, certificate, parsed policy, timings and the answer Postfix would get.
      Exit 0: a policy was found (any mode); 1: no policy; 2: error.
  check-config [-c FILE]
      Validate a configuration file; print OK and a summary, or every problem. Exit 0 or 2.
  help
      Show this help.

Options:
  -c, --config FILE       configuration file (YAML)
  -v, --log-level LEVEL   error, warn, info or debug (overrides logging.level)
      --zone NAME         zone whose settings apply (query; default: the default zone)
      --json              print one JSON object (query)
  -h, --help              show this help
      --version           print the version`;
