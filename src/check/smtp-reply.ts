/**
 * SMTP replies (RFC 5321 §4.2), push-style: feed bytes as they arrive, get each complete reply.
 * A reply is one or more lines `NNN-text` ending with a line `NNN text` (or `NNN` alone); lines
 * end in CRLF, a bare LF is tolerated. Pure: no sockets.
 */

/** RFC 5321 §4.5.3.1.5 says 512 octets per reply line; real servers stay far below this. */
export const MAX_REPLY_LINE = 4096;
/** More lines than any EHLO reply needs: a peer that never ends its reply is cut off. */
export const MAX_REPLY_LINES = 200;

export interface SmtpReply {
  readonly code: number;
  /** The text of each line, without the code and separator. */
  readonly lines: readonly string[];
}

export type ReplyEvent = { readonly kind: 'reply'; readonly reply: SmtpReply } | { readonly kind: 'error'; readonly message: string };

const LINE = /^([2-5][0-9][0-9])([ -]|$)(.*)$/;

export class SmtpReplyReader {
  #buffer = '';
  #code: number | undefined;
  #lines: string[] = [];
  #failed = false;

  /** Bytes in, events out; after an `error` event every later call returns nothing. */
  push(chunk: Buffer | string): ReplyEvent[] {
    if (this.#failed) return [];
    this.#buffer += typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    const events: ReplyEvent[] = [];
    for (;;) {
      const nl = this.#buffer.indexOf('\n');
      if (nl < 0) {
        if (this.#buffer.length > MAX_REPLY_LINE) return this.#fail(events, `a reply line longer than ${MAX_REPLY_LINE} bytes`);
        return events;
      }
      const line = this.#buffer.slice(0, nl).replace(/\r$/, '');
      this.#buffer = this.#buffer.slice(nl + 1);
      if (line.length > MAX_REPLY_LINE) return this.#fail(events, `a reply line longer than ${MAX_REPLY_LINE} bytes`);
      const m = LINE.exec(line);
      if (m === null) return this.#fail(events, `not an SMTP reply line: ${JSON.stringify(line.slice(0, 80))}`);
      const code = Number(m[1]);
      if (this.#code !== undefined && this.#code !== code)
        return this.#fail(events, `reply code changed from ${this.#code} to ${code} within a reply`);
      this.#code = code;
      this.#lines.push(m[3] ?? '');
      if (this.#lines.length > MAX_REPLY_LINES) return this.#fail(events, `a reply of more than ${MAX_REPLY_LINES} lines`);
      if (m[2] !== '-') {
        events.push({ kind: 'reply', reply: { code, lines: this.#lines } });
        this.#code = undefined;
        this.#lines = [];
      }
    }
  }

  /** Bytes received after the last complete line (a peer that must not talk ahead, e.g. before TLS). */
  get pending(): number {
    return this.#buffer.length;
  }

  #fail(events: ReplyEvent[], message: string): ReplyEvent[] {
    this.#failed = true;
    events.push({ kind: 'error', message });
    return events;
  }
}

/** The EHLO keywords of a 250 reply (the lines after the greeting), upper-cased. */
export function ehloKeywords(reply: SmtpReply): string[] {
  return reply.lines.slice(1).map((l) => (l.split(' ')[0] ?? '').toUpperCase());
}

/** `250 mx.example.com ESMTP` style, one line per reply line, for evidence. */
export function formatReply(reply: SmtpReply): string[] {
  return reply.lines.map((l, i) => `${reply.code}${i < reply.lines.length - 1 ? '-' : ' '}${l}`);
}
