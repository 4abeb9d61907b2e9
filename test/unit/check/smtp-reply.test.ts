/** The SMTP reply reader: push-style, the same replies at every split of the input. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ehloKeywords, formatReply, MAX_REPLY_LINE, SmtpReplyReader, type ReplyEvent } from '../../../src/check/smtp-reply.js';

const WIRE = '220 mx.example.test ESMTP\r\n250-mx.example.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n220 2.0.0 Ready\r\n';

function feed(chunks: readonly string[]): ReplyEvent[] {
  const r = new SmtpReplyReader();
  return chunks.flatMap((c) => r.push(Buffer.from(c, 'latin1')));
}

describe('SmtpReplyReader', () => {
  const whole = feed([WIRE]);

  it('reads single and multi-line replies', () => {
    assert.deepEqual(
      whole.map((e) => (e.kind === 'reply' ? [e.reply.code, e.reply.lines.length] : e.message)),
      [
        [220, 1],
        [250, 4],
        [220, 1],
      ],
    );
    const ehlo = whole[1];
    assert.ok(ehlo?.kind === 'reply');
    assert.deepEqual(ehloKeywords(ehlo.reply), ['PIPELINING', 'STARTTLS', '8BITMIME']);
    assert.deepEqual(formatReply(ehlo.reply), ['250-mx.example.test', '250-PIPELINING', '250-STARTTLS', '250 8BITMIME']);
  });

  it('gives the same replies split at every offset, and byte by byte', () => {
    for (let i = 0; i <= WIRE.length; i++) assert.deepEqual(feed([WIRE.slice(0, i), WIRE.slice(i)]), whole, `split at ${i}`);
    assert.deepEqual(feed([...WIRE]), whole);
  });

  it('tolerates bare LF and a code alone on the last line', () => {
    const events = feed(['250-a\n250\n']);
    assert.deepEqual(events, [{ kind: 'reply', reply: { code: 250, lines: ['a', ''] } }]);
  });

  it('refuses garbage, a code that changes within a reply, and an endless line; then stays silent', () => {
    const r = new SmtpReplyReader();
    assert.equal(r.push('HTTP/1.1 400 Bad Request\r\n')[0]?.kind, 'error');
    assert.deepEqual(r.push('220 ok\r\n'), []);
    assert.equal(feed(['250-a\r\n251 b\r\n'])[0]?.kind, 'error');
    assert.equal(feed(['2'.repeat(MAX_REPLY_LINE + 2)])[0]?.kind, 'error');
  });
});
