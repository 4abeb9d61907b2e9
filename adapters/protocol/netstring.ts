/**
 * Netstrings (http://cr.yp.to/proto/netstrings.txt): `<decimal length>:<bytes>,`.
 * A pure, push-style codec: the decoder never buffers more than one payload of at most
 * `maxPayload` bytes, and rejects an oversized length as soon as its digits prove it.
 */
import { Buffer } from 'node:buffer';

/**
 * Largest socketmap request payload accepted. Postfix's socketmap client sends one
 * `<name> <key>` per request, far below this; the bound only protects our memory.
 * (PROTOCOLS.md §5, socketmap_table(5).)
 */
export const SOCKETMAP_MAX_REQUEST_BYTES = 10_000;

/**
 * Largest reply payload the Postfix socketmap client accepts, "not including the netstring
 * encapsulation" (socketmap_table(5); `DICT_SOCKMAP_DEF_MAX_REPLY` in Postfix dict_sockmap.c).
 */
export const SOCKETMAP_MAX_REPLY_BYTES = 100_000;

const COLON = 0x3a;
const COMMA = 0x2c;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** Stable codes of malformed netstring framing (listed in docs/errors.md). */
export type NetstringErrorCode =
  | 'ENETSTRING_BAD_LENGTH' // a non-digit where a length digit or ':' belongs, or an empty length
  | 'ENETSTRING_LEADING_ZERO' // a length with a leading zero (only `0:` itself may start with 0)
  | 'ENETSTRING_TOO_LARGE' // the declared length exceeds the payload limit
  | 'ENETSTRING_MISSING_COMMA' // the byte after the payload is not ','
  | 'ENETSTRING_TRUNCATED'; // the stream ended inside a netstring

/** One step out of a netstring decoder: a payload as its PayloadReader made it, or an error. */
export type NetstringStep<T = Buffer> =
  | { readonly kind: 'payload'; readonly payload: T }
  | { readonly kind: 'error'; readonly code: NetstringErrorCode; readonly message: string };

/**
 * Makes a payload's value from `bytes[start, end)`. The bytes are the caller's chunk when the
 * whole netstring arrived in it (Postfix's usual request), so the reader may decode them in place
 * (socketmap reads its two strings straight from the socket's buffer) but must not keep them.
 */
export type PayloadReader<T> = (bytes: Buffer, start: number, end: number) => T;

/** The default reader: the payload copied into a Buffer of its own (Node's small-buffer pool). */
export const copyPayload: PayloadReader<Buffer> = (bytes, start, end) => Buffer.from(bytes.subarray(start, end));

/** Push-style netstring decoder. After the first error step it yields nothing more. */
export interface NetstringDecoder<T = Buffer> {
  push(chunk: Uint8Array): NetstringStep<T>[];
  /** The peer closed its side: a netstring left unfinished is an `ENETSTRING_TRUNCATED` error. */
  end(): NetstringStep<T>[];
  /** Bytes of an unfinished netstring are held. */
  partial(): boolean;
}

type State =
  | { readonly at: 'length'; value: number; digits: number }
  | { readonly at: 'payload'; readonly buffer: Buffer; filled: number }
  | { readonly at: 'comma'; readonly buffer: Buffer }
  | { readonly at: 'stopped' };

function printable(byte: number): string {
  return byte >= 0x21 && byte <= 0x7e ? `'${String.fromCharCode(byte)}'` : `0x${byte.toString(16).padStart(2, '0')}`;
}

/** A decoder that accepts payloads of at most `maxPayload` bytes, each made a value by `read`. */
export function createNetstringDecoder(maxPayload: number): NetstringDecoder<Buffer>;
export function createNetstringDecoder<T>(maxPayload: number, read: PayloadReader<T>): NetstringDecoder<T>;
export function createNetstringDecoder<T>(maxPayload: number, read?: PayloadReader<T>): NetstringDecoder<T | Buffer> {
  const reader: PayloadReader<T | Buffer> = read ?? copyPayload;
  if (!Number.isSafeInteger(maxPayload) || maxPayload < 0) {
    throw new RangeError(`maxPayload must be a non-negative safe integer, got ${maxPayload}`);
  }
  let state: State = { at: 'length', value: 0, digits: 0 };

  const fail = (out: NetstringStep<T | Buffer>[], code: NetstringErrorCode, message: string): NetstringStep<T | Buffer>[] => {
    state = { at: 'stopped' };
    out.push({ kind: 'error', code, message });
    return out;
  };

  return {
    push(data: Uint8Array): NetstringStep<T | Buffer>[] {
      // Sockets give Buffers; any other Uint8Array is viewed as one (no copy).
      const chunk = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      const out: NetstringStep<T | Buffer>[] = [];
      let i = 0;
      while (i < chunk.length) {
        switch (state.at) {
          case 'stopped':
            return out;
          case 'length': {
            const byte = chunk[i] as number;
            i += 1;
            if (byte >= DIGIT_0 && byte <= DIGIT_9) {
              if (state.digits > 0 && state.value === 0) {
                return fail(out, 'ENETSTRING_LEADING_ZERO', 'netstring length has a leading zero');
              }
              state.value = state.value * 10 + (byte - DIGIT_0);
              state.digits += 1;
              // Checked per digit, so a huge digit string is refused at the first digit too many.
              if (state.value > maxPayload) {
                return fail(out, 'ENETSTRING_TOO_LARGE', `netstring length exceeds the limit of ${maxPayload} bytes`);
              }
            } else if (byte === COLON && state.digits > 0) {
              const length = state.value;
              if (length > 0 && chunk.length - i > length) {
                // The whole payload and its comma are in this chunk (Postfix's usual request): read
                // in place, no buffer of its own.
                const after = chunk[i + length] as number;
                if (after !== COMMA) {
                  return fail(out, 'ENETSTRING_MISSING_COMMA', `expected ',' after netstring payload, got ${printable(after)}`);
                }
                out.push({ kind: 'payload', payload: reader(chunk, i, i + length) });
                i += length + 1;
                state.value = 0;
                state.digits = 0;
                break;
              }
              // Bounded by maxPayload above, so this allocation is bounded too.
              const buffer = Buffer.alloc(length);
              state = state.value === 0 ? { at: 'comma', buffer } : { at: 'payload', buffer, filled: 0 };
            } else {
              return fail(
                out,
                'ENETSTRING_BAD_LENGTH',
                state.digits === 0 && byte === COLON
                  ? 'netstring length is empty'
                  : `unexpected byte ${printable(byte)} in netstring length`,
              );
            }
            break;
          }
          case 'payload': {
            const take = Math.min(state.buffer.length - state.filled, chunk.length - i);
            state.buffer.set(chunk.subarray(i, i + take), state.filled);
            state.filled += take;
            i += take;
            if (state.filled === state.buffer.length) state = { at: 'comma', buffer: state.buffer };
            break;
          }
          case 'comma': {
            const byte = chunk[i] as number;
            i += 1;
            if (byte !== COMMA) {
              return fail(out, 'ENETSTRING_MISSING_COMMA', `expected ',' after netstring payload, got ${printable(byte)}`);
            }
            // The decoder's own buffer: the default reader takes it as it is, without a copy.
            const whole = state.buffer;
            out.push({ kind: 'payload', payload: reader === copyPayload ? whole : reader(whole, 0, whole.length) });
            state = { at: 'length', value: 0, digits: 0 };
            break;
          }
          default: {
            const _never: never = state;
            return _never;
          }
        }
      }
      return out;
    },

    partial(): boolean {
      return state.at === 'payload' || state.at === 'comma' || (state.at === 'length' && state.digits > 0);
    },

    end(): NetstringStep<T | Buffer>[] {
      const s = state;
      state = { at: 'stopped' };
      switch (s.at) {
        case 'stopped':
          return [];
        case 'length':
          return s.digits === 0 ? [] : [truncated('in its length')];
        case 'payload':
          return [truncated(`after ${s.filled} of ${s.buffer.length} payload bytes`)];
        case 'comma':
          return [truncated("before the closing ','")];
        default: {
          const _never: never = s;
          return _never;
        }
      }
    },
  };
}

function truncated(where: string): NetstringStep<never> {
  return { kind: 'error', code: 'ENETSTRING_TRUNCATED', message: `stream ended inside a netstring, ${where}` };
}

/** `payload` (a string is encoded as UTF-8) framed as one netstring. */
export function encodeNetstring(payload: Uint8Array | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const head = Buffer.from(`${body.length}:`, 'latin1');
  const out = Buffer.allocUnsafe(head.length + body.length + 1);
  head.copy(out, 0);
  out.set(body, head.length);
  out[out.length - 1] = COMMA;
  return out;
}
