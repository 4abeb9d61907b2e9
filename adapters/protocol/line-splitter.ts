/**
 * LF-terminated lines out of a byte stream, for the line protocols (tcp_table, Exim).
 * Pure and push-style; never buffers more than one line of at most `maxLineBytes`.
 */
import { Buffer } from 'node:buffer';

const LF = 0x0a;
const CR = 0x0d;

/** One step out of a line splitter. */
export type LineStep =
  /** A complete line, without its LF and without one CR before it. */
  | { readonly kind: 'line'; readonly line: Buffer }
  /** The line grew past the limit before its LF arrived; nothing follows. */
  | { readonly kind: 'too-long'; readonly limit: number };

export interface LineSplitter {
  push(chunk: Uint8Array): LineStep[];
  /** The peer closed its side: the bytes of an unterminated last line (maybe empty). */
  end(): Buffer;
  /** Bytes of an unterminated line are held. */
  partial(): boolean;
}

/**
 * A splitter accepting lines of at most `maxLineBytes` bytes counting the LF (and a CR
 * before it), so an overlong line is refused as soon as its bytes prove it, without
 * waiting for a newline that may never come.
 */
export function createLineSplitter(maxLineBytes: number): LineSplitter {
  if (!Number.isSafeInteger(maxLineBytes) || maxLineBytes < 1) {
    throw new RangeError(`maxLineBytes must be a positive safe integer, got ${maxLineBytes}`);
  }
  let parts: Buffer[] = [];
  let length = 0;
  let stopped = false;

  const take = (): Buffer => {
    const line = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, length);
    parts = [];
    length = 0;
    return line;
  };

  return {
    push(chunk: Uint8Array): LineStep[] {
      const out: LineStep[] = [];
      const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      let start = 0;
      while (!stopped && start <= bytes.length) {
        const lf = bytes.indexOf(LF, start);
        const end = lf < 0 ? bytes.length : lf;
        const segment = bytes.subarray(start, end);
        // The LF itself counts; without an LF yet, one more byte (the LF) must still fit.
        if (length + segment.length + 1 > maxLineBytes) {
          stopped = true;
          parts = [];
          length = 0;
          out.push({ kind: 'too-long', limit: maxLineBytes });
          break;
        }
        if (segment.length > 0) {
          // Copied: the socket may reuse the chunk's memory.
          parts.push(Buffer.from(segment));
          length += segment.length;
        }
        if (lf < 0) break;
        let line = take();
        if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
        out.push({ kind: 'line', line });
        start = lf + 1;
      }
      return out;
    },
    partial(): boolean {
      return !stopped && length > 0;
    },
    end(): Buffer {
      if (stopped) return Buffer.alloc(0);
      stopped = true;
      return take();
    },
  };
}
