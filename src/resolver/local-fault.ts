/**
 * Local faults: failures of this host or process, not answers from the network. They must never
 * be read as "the domain has no MTA-STS" (a downgrade); the lookup answers a temporary failure
 * (Postfix `TEMP`, Exim `defer`) whatever the zone's `dns_error`, and is logged at error level.
 *
 * What c-ares really reports: when it cannot open a socket to any configured server (EMFILE,
 * ENFILE, ENOBUFS) it gives up with ARES_ECONNREFUSED, the same code it uses when a server
 * actively refuses (ICMP port unreachable, typically a dead resolver on loopback). Neither is a
 * DNS answer: no server said anything about the name. So `ECONNREFUSED` from the DNS seam is a
 * local fault, as are c-ares' own allocation and setup failures. DNS response codes (SERVFAIL as
 * `ESERVFAIL`, REFUSED as `EREFUSED`, NOTIMP, FORMERR) and timeouts stay DNS errors.
 */

/** Process or system resource failures (errno), wherever they come from. */
const ERRNO_LOCAL_FAULTS: ReadonlySet<string> = new Set(['EMFILE', 'ENFILE', 'ENOMEM', 'ENOBUFS']);

/** Codes from the DNS seam (c-ares, `node:dns`) that mean no server answered for local reasons. */
const DNS_LOCAL_FAULTS: ReadonlySet<string> = new Set([
  ...ERRNO_LOCAL_FAULTS,
  'ECONNREFUSED', // c-ares: could not contact any server (socket() failed, or the server refused)
  'ENOTINITIALIZED', // c-ares library not initialised
  'EFILE', // c-ares could not read a file (resolv.conf)
  'ECANCELLED', // cancelled without our deadline having passed
  'EDESTRUCTION', // channel destroyed under the query
  'EDNS_UNKNOWN', // a failure without a code
  'EINTERNAL', // a programming error caught by the resolver
]);

/** Code given to a fetch that failed for a local reason (see {@link isLocalErrno}). */
export const LOCAL_FAULT_FETCH_CODE = 'ELOCAL_FAULT';

/** True when an errno-style `code` is a resource failure of this process or host. */
export function isLocalErrno(code: string | undefined): boolean {
  return code !== undefined && ERRNO_LOCAL_FAULTS.has(code);
}

/** True when a code reported by the DNS seam (or the resolver itself) is a local fault. */
export function isLocalDnsFault(code: string | undefined): boolean {
  return code !== undefined && DNS_LOCAL_FAULTS.has(code);
}

/** True when a resolution code (a DNS seam code, `ELOCAL_FAULT` or `EINTERNAL`) is a local fault. */
export function isLocalFault(code: string | undefined): boolean {
  return code === LOCAL_FAULT_FETCH_CODE || isLocalDnsFault(code);
}
