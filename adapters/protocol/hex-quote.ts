/**
 * tcp_table(5) "ENCODING": `%`, each non-printing and each whitespace character as `%XX`
 * (hex digits in any case when decoding). Postfix's own `hex_quote()` / `hex_unquote()`
 * (src/util/hex_quote.c) are the reference: printable means the C locale's isprint(), so
 * every byte of a UTF-8 sequence is quoted too. Pure functions on bytes.
 */
import { Buffer } from 'node:buffer';

const PERCENT = 0x25;

function mustQuote(byte: number): boolean {
  // isprint() in the C locale: 0x20..0x7e; isspace() adds 0x20 itself (and TAB, LF, ...).
  return byte === PERCENT || byte <= 0x20 || byte >= 0x7f;
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10;
  return -1;
}

/** `data` (a string is taken as UTF-8) with `%`, whitespace and non-printables as `%XX` (upper case). */
export function hexQuote(data: Uint8Array | string): string {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let out = '';
  for (const byte of bytes) {
    out += mustQuote(byte) ? `%${byte.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(byte);
  }
  return out;
}

/**
 * The bytes `text` encodes, or undefined when a `%` is not followed by two hex digits.
 * Other bytes are taken as they are (the spec says a sender "must" quote them; being lenient
 * on input costs nothing because the key is validated as a domain name afterwards).
 */
export function hexUnquote(text: Uint8Array): Buffer | undefined {
  const out = Buffer.allocUnsafe(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i += 1) {
    const byte = text[i] as number;
    if (byte !== PERCENT) {
      out[n++] = byte;
      continue;
    }
    const hi = i + 1 < text.length ? hexValue(text[i + 1] as number) : -1;
    const lo = i + 2 < text.length ? hexValue(text[i + 2] as number) : -1;
    if (hi < 0 || lo < 0) return undefined;
    out[n++] = hi * 16 + lo;
    i += 2;
  }
  return out.subarray(0, n);
}
