/**
 * Which protocol a client probably speaks, from its first bytes. Pure: no sockets, no state.
 *
 * The connection (src/server/connection.ts) asks `sniff(listenerProtocol, firstBytes)` until it
 * gets `fits` or `foreign`: a client whose first bytes cannot belong to the listener's protocol
 * (a netstring on a tcp_table port, a tcp_table `get` on a socketmap port, a policy delegation
 * `name=value` on a socketmap port, ...) is closed at once, with a warning naming
 * `guessProtocol(firstBytes)`. While the bytes seen are still a valid start of the listener's
 * protocol and too few to tell, the answer is `undecided`; every decoder yields nothing on such
 * a prefix (no newline, no complete netstring length), so deciding late never loses a request.
 */
import { Buffer } from 'node:buffer';

/** How many first bytes are ever looked at; past this, undecided counts as `fits`. */
export const SNIFF_MAX_BYTES = 64;
/** With this many bytes (or a line end) the guess of a foreign client is final. */
export const SNIFF_SETTLE_BYTES = 16;

/** A best guess at what a client speaks: one of ours, or a few common strangers. */
export type ProtocolGuess = 'socketmap' | 'tcp_table' | 'policy' | 'exim' | 'http' | 'tls' | 'smtp' | 'unknown';

export type SniffVerdict =
  /** The bytes are a valid start of the listener's protocol: stop sniffing. */
  | { readonly kind: 'fits' }
  /** Too few bytes to tell; look again when more arrive. */
  | { readonly kind: 'undecided' }
  /**
   * These bytes cannot belong to the listener's protocol. `settled`: the guess will not get
   * better with more bytes (a distinctive start, a complete line, or SNIFF_SETTLE_BYTES seen);
   * otherwise the caller may wait a moment for more bytes before naming `probably`.
   */
  | { readonly kind: 'foreign'; readonly probably: ProtocolGuess; readonly settled: boolean };

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const EQUALS = 0x3d;
const GET = 'get ';
const HTTP_METHODS = ['GET ', 'POST ', 'HEAD ', 'PUT ', 'DELETE ', 'OPTIONS ', 'CONNECT ', 'PATCH ', 'TRACE ', 'PRI '];
const SMTP_VERBS = ['EHLO ', 'HELO ', 'ehlo ', 'helo '];
/** Longest policy attribute name Postfix sends is 24 bytes (`ccert_pubkey_fingerprint`). */
const MAX_ATTRIBUTE_NAME = 48;
/** A netstring length for a socketmap request (at most 10,000) has at most five digits. */
const MAX_LENGTH_DIGITS = 6;

const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39;
/** Letters, digits and `_`: what a policy attribute name is made of (SMTPD_POLICY_README). */
const isNameByte = (b: number): boolean => isDigit(b) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5f;

/** True when `bytes` starts with `text` (latin1), or is a shorter prefix of it (`partial`). */
function startsWith(bytes: Uint8Array, text: string): 'yes' | 'partial' | 'no' {
  const n = Math.min(bytes.length, text.length);
  for (let i = 0; i < n; i += 1) if (bytes[i] !== text.charCodeAt(i)) return 'no';
  return bytes.length >= text.length ? 'yes' : 'partial';
}

/** A netstring start: `0:` or `[1-9][0-9]*:`. */
function netstringStart(b: Uint8Array): 'yes' | 'partial' | 'no' {
  let i = 0;
  while (i < b.length && isDigit(b[i] as number)) {
    if (i === 1 && b[0] === 0x30) return 'no'; // a leading zero
    if (i >= MAX_LENGTH_DIGITS) return 'no';
    i += 1;
  }
  if (i === b.length) return 'partial';
  return i > 0 && b[i] === COLON ? 'yes' : 'no';
}

/** A policy attribute line start: `name=`, a letter then letters, digits and `_`. */
function attributeStart(b: Uint8Array): 'yes' | 'partial' | 'no' {
  if (b.length > 0 && (isDigit(b[0] as number) || !isNameByte(b[0] as number))) return 'no';
  let i = 0;
  while (i < b.length && isNameByte(b[i] as number)) {
    if (i >= MAX_ATTRIBUTE_NAME) return 'no';
    i += 1;
  }
  if (i === b.length) return 'partial';
  return i > 0 && b[i] === EQUALS ? 'yes' : 'no';
}

function anyOf(bytes: Uint8Array, texts: readonly string[]): boolean {
  return texts.some((t) => startsWith(bytes, t) === 'yes');
}

/** A bare `domain` or `zone domain` line, as Exim's `${readsocket}` sends. */
function looksLikeEximLine(b: Uint8Array): boolean {
  const text = Buffer.from(b.subarray(0, SNIFF_MAX_BYTES)).toString('latin1');
  const line = text.split('\n')[0] ?? '';
  return /^[A-Za-z0-9_.\-[\]:]+([ \t]+[A-Za-z0-9_.\-[\]:]+)?\r?$/.test(line) && /[A-Za-z]/.test(line);
}

/**
 * The protocol `bytes` (a client's first bytes) most probably belong to; `unknown` when none
 * fits. Certain only for the distinctive starts (TLS, HTTP, netstring, `get `, `name=`).
 */
export function guessProtocol(bytes: Uint8Array): ProtocolGuess {
  if (bytes.length >= 2 && bytes[0] === 0x16 && bytes[1] === 0x03) return 'tls';
  if (anyOf(bytes, HTTP_METHODS) && /^[A-Z]+ (\/|\*|https?:|[^ ]+ HTTP\/)/.test(Buffer.from(bytes).toString('latin1'))) return 'http';
  if (anyOf(bytes, SMTP_VERBS)) return 'smtp';
  if (netstringStart(bytes) === 'yes') return 'socketmap';
  if (startsWith(bytes, GET) === 'yes') return 'tcp_table';
  if (attributeStart(bytes) === 'yes') return 'policy';
  if (looksLikeEximLine(bytes)) return 'exim';
  return 'unknown';
}

const DISTINCTIVE: ReadonlySet<ProtocolGuess> = new Set<ProtocolGuess>(['tls', 'http', 'smtp', 'socketmap', 'tcp_table', 'policy']);

function foreign(bytes: Uint8Array, probably: ProtocolGuess = guessProtocol(bytes)): SniffVerdict {
  const settled = DISTINCTIVE.has(probably) || bytes.includes(LF) || bytes.length >= SNIFF_SETTLE_BYTES;
  return { kind: 'foreign', probably, settled };
}

const FITS: SniffVerdict = { kind: 'fits' };
const UNDECIDED: SniffVerdict = { kind: 'undecided' };

function verdict(start: 'yes' | 'partial' | 'no', bytes: Uint8Array): SniffVerdict {
  switch (start) {
    case 'yes':
      return FITS;
    case 'partial':
      return bytes.length >= SNIFF_MAX_BYTES ? FITS : UNDECIDED;
    case 'no':
      return foreign(bytes);
    default: {
      const _never: never = start;
      return _never;
    }
  }
}

/**
 * Whether a client's first bytes can belong to `listenerProtocol`. Protocols this module does
 * not know (test adapters) always fit. Grammar per protocol:
 *  - socketmap: a netstring, so `0:` or `[1-9][0-9]{0,5}:`;
 *  - tcp_table: `get ` (tcp_table(5) knows no other request);
 *  - policy: an attribute line `name=` (letters, digits, `_`), or an empty line;
 *  - exim: free text (`domain` or `zone domain`), so only a start that is distinctly another
 *    protocol (TLS, HTTP, SMTP, a netstring, a policy attribute) is foreign; a `get x` line is
 *    a valid `zone domain` request and fits.
 */
export function sniff(listenerProtocol: string, bytes: Uint8Array): SniffVerdict {
  if (bytes.length === 0) return UNDECIDED;
  switch (listenerProtocol) {
    case 'socketmap':
      return verdict(netstringStart(bytes), bytes);
    case 'tcp_table':
      return verdict(startsWith(bytes, GET), bytes);
    case 'policy':
      // An empty first line is an empty request (answered DUNNO), as the decoder reads it.
      if (bytes[0] === LF) return FITS;
      if (bytes[0] === CR) return bytes.length === 1 ? UNDECIDED : bytes[1] === LF ? FITS : foreign(bytes);
      return verdict(attributeStart(bytes), bytes);
    case 'exim':
      return sniffExim(bytes);
    default:
      return FITS;
  }
}

function sniffExim(bytes: Uint8Array): SniffVerdict {
  const guess = guessProtocol(bytes);
  switch (guess) {
    case 'tls':
    case 'http':
    case 'smtp':
    case 'socketmap':
    case 'policy':
      return foreign(bytes, guess);
    case 'tcp_table':
    case 'exim':
    case 'unknown':
      break;
    default: {
      const _never: never = guess;
      return _never;
    }
  }
  // Still a possible start of a netstring length or an attribute name, with no line end yet:
  // wait (a domain soon shows a `.` or `-`, and Exim's half-close ends the wait).
  const open = !bytes.includes(LF) && bytes.length < SNIFF_MAX_BYTES;
  if (open && (netstringStart(bytes) === 'partial' || attributeStart(bytes) === 'partial')) return UNDECIDED;
  return FITS;
}
