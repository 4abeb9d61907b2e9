/**
 * Where a domain's MTA-STS policy lives (RFC 8461 §3.3). Kept apart from https-fetcher.ts so
 * that the code which only names the URL (the lazy and worker fetchers' error results) does not
 * load `node:https` and `node:tls` at start.
 */

/** RFC 8461 §3.3: the policy file lives at this path on `mta-sts.<domain>`. */
export const POLICY_PATH = '/.well-known/mta-sts.txt';
/** RFC 8461 §3.3: the policy host name is the policy domain with this label in front. */
export const POLICY_HOST_LABEL = 'mta-sts';
/** RFC 8461 §3.3: HTTPS on the default port. */
export const HTTPS_PORT = 443;

/** `https://mta-sts.<domain>[:port]/.well-known/mta-sts.txt`; the port only when it is not 443. */
export function policyUrl(policyDomain: string, port: number = HTTPS_PORT): string {
  return `https://${POLICY_HOST_LABEL}.${policyDomain}${port === HTTPS_PORT ? '' : `:${port}`}${POLICY_PATH}`;
}
