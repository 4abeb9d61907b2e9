/**
 * The Postfix policy delegation wire format (SMTPD_POLICY_README, "Protocol description"):
 * a request is a block of `name=value` lines ended by an empty line; the reply is
 * `action=...` and an empty line. A pure, push-style decoder; it knows nothing of MTA-STS.
 */
import { Buffer } from 'node:buffer';
import type { Decoder, DecodeStep } from '../../src/protocol/types.js';

/**
 * Longest attribute line, newline excluded. Most values come from SMTP command lines, which
 * Postfix bounds by `line_length_limit` (2048, postconf(5)); an address is at most 256 octets
 * (RFC 5321 §4.5.3.1.3). Certificate subjects and SASL names are longer but still far below this.
 */
export const POLICY_MAX_LINE_BYTES = 8192;

/** Attribute lines in one request. Postfix 3.x sends about 30 (SMTPD_POLICY_README). */
export const POLICY_MAX_ATTRIBUTES = 100;

/** Bytes of one request block, every line and newline included. */
export const POLICY_MAX_REQUEST_BYTES = 64 * 1024;

/** Stable codes of a malformed request stream (listed in docs/errors.md). */
export type PolicyDecodeErrorCode =
  | 'EDELEGATION_NO_EQUALS' // an attribute line without '=' (or with an empty name)
  | 'EDELEGATION_LINE_TOO_LONG' // an attribute line longer than POLICY_MAX_LINE_BYTES
  | 'EDELEGATION_TOO_MANY_ATTRIBUTES' // more than POLICY_MAX_ATTRIBUTES lines in one request
  | 'EDELEGATION_REQUEST_TOO_LARGE' // a request block larger than POLICY_MAX_REQUEST_BYTES
  | 'EDELEGATION_TRUNCATED'; // the client closed the connection in the middle of a request

/**
 * One decoded request: the attributes this project reads. Every other name is ignored, as
 * SMTPD_POLICY_README asks of policy servers ("ignore attributes that it does not care about").
 * A repeated name keeps its last value.
 */
export interface PolicyRequest {
  /** `smtpd_access_policy` for the SMTP server's requests. */
  readonly request?: string;
  /** `CONNECT`, `EHLO`, `HELO`, `MAIL`, `RCPT`, `DATA`, `END-OF-MESSAGE`, `VRFY`, `ETRN`. */
  readonly protocolState?: string;
  /** The recipient address without angle brackets (empty outside RCPT). */
  readonly recipient?: string;
  /** Sender address, for logs. */
  readonly sender?: string;
  /** Client IP address, for logs. */
  readonly clientAddress?: string;
  /** Postfix's identifier of one message transaction, for logs. */
  readonly instance?: string;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Attribute names kept, and where they go. */
const KEPT: ReadonlyMap<string, keyof PolicyRequest> = new Map<string, keyof PolicyRequest>([
  ['request', 'request'],
  ['protocol_state', 'protocolState'],
  ['recipient', 'recipient'],
  ['sender', 'sender'],
  ['client_address', 'clientAddress'],
  ['instance', 'instance'],
]);

const NEWLINE = 0x0a;
const CR = 0x0d;
const EQUALS = 0x3d;

/** The reply meaning "no opinion": the SMTP server goes on with its next restriction. */
export const POLICY_REPLY_DUNNO = 'action=DUNNO\n\n';

/** Encode a reply block with the given action (SMTPD_POLICY_README: `action=...` then an empty line). */
export function encodePolicyReply(action: string): Uint8Array {
  return Buffer.from(`action=${action.replace(/[\r\n]/g, ' ')}\n\n`, 'utf8');
}

/** A fresh per-connection decoder. After its first error step it yields nothing more. */
export function newPolicyDecoder(): Decoder<PolicyRequest> {
  /** Bytes of the current, unfinished line. */
  let partial: Buffer[] = [];
  let partialBytes = 0;
  let attrs: Mutable<PolicyRequest> = {};
  let lines = 0;
  let blockBytes = 0;
  let failed = false;

  const fail = (code: PolicyDecodeErrorCode, message: string): DecodeStep<PolicyRequest> => {
    failed = true;
    partial = [];
    return { kind: 'error', code, message };
  };

  /** One complete line (newline removed). Returns a step when the line ends a request or is bad. */
  const line = (bytes: Buffer): DecodeStep<PolicyRequest> | undefined => {
    // Postfix sends LF only; a CR before it comes from a hand-typed test session, tolerated.
    const text = bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.subarray(0, -1) : bytes;
    if (text.length === 0) {
      const request = attrs;
      attrs = {};
      lines = 0;
      blockBytes = 0;
      return { kind: 'request', request };
    }
    lines += 1;
    if (lines > POLICY_MAX_ATTRIBUTES) {
      return fail('EDELEGATION_TOO_MANY_ATTRIBUTES', `more than ${POLICY_MAX_ATTRIBUTES} attributes in one request`);
    }
    const eq = text.indexOf(EQUALS);
    if (eq <= 0) {
      return fail('EDELEGATION_NO_EQUALS', `attribute line ${lines} is not name=value`);
    }
    const key = KEPT.get(text.toString('latin1', 0, eq));
    if (key !== undefined) attrs[key] = text.toString('utf8', eq + 1);
    return undefined;
  };

  return {
    push(chunk: Uint8Array): DecodeStep<PolicyRequest>[] {
      const steps: DecodeStep<PolicyRequest>[] = [];
      if (failed) return steps;
      const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      let start = 0;
      while (start < buf.length) {
        const nl = buf.indexOf(NEWLINE, start);
        const end = nl < 0 ? buf.length : nl;
        const piece = buf.subarray(start, end);
        partialBytes += piece.length;
        blockBytes += piece.length + (nl < 0 ? 0 : 1);
        // The line length counts a tolerated CR too: the limit is about memory, not grammar.
        if (partialBytes > POLICY_MAX_LINE_BYTES + 1) {
          steps.push(fail('EDELEGATION_LINE_TOO_LONG', `attribute line longer than ${POLICY_MAX_LINE_BYTES} bytes`));
          return steps;
        }
        if (blockBytes > POLICY_MAX_REQUEST_BYTES) {
          steps.push(fail('EDELEGATION_REQUEST_TOO_LARGE', `request block larger than ${POLICY_MAX_REQUEST_BYTES} bytes`));
          return steps;
        }
        if (nl < 0) {
          // Copy: the caller may reuse its chunk buffer.
          partial.push(Buffer.from(piece));
          break;
        }
        const whole = partial.length === 0 ? piece : Buffer.concat([...partial, piece]);
        partial = [];
        partialBytes = 0;
        if (whole.length > POLICY_MAX_LINE_BYTES && !(whole.length === POLICY_MAX_LINE_BYTES + 1 && whole[whole.length - 1] === CR)) {
          steps.push(fail('EDELEGATION_LINE_TOO_LONG', `attribute line longer than ${POLICY_MAX_LINE_BYTES} bytes`));
          return steps;
        }
        const step = line(whole);
        if (step !== undefined) {
          steps.push(step);
          if (step.kind === 'error') return steps;
        }
        start = nl + 1;
      }
      return steps;
    },
    partial(): boolean {
      return !failed && (partialBytes > 0 || lines > 0);
    },
    end(): DecodeStep<PolicyRequest>[] {
      if (failed) return [];
      if (partialBytes > 0 || lines > 0) {
        return [fail('EDELEGATION_TRUNCATED', 'connection closed in the middle of a request')];
      }
      return [];
    },
  };
}
