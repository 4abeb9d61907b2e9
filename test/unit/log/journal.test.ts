import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { isJournalStream, priorityPrefix } from '../../../src/log/journal.js';
import { createLogger, formatJournalLine, reconfigureLogger } from '../../../src/log/logger.js';

function capture(): { stream: Writable; lines: () => string[] } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { stream, lines: () => text.split('\n').filter((l) => l !== '') };
}

describe('journal detection (JOURNAL_STREAM against fd 2)', () => {
  it('matches only the exact device and inode', () => {
    assert.equal(isJournalStream('8:12345', { dev: 8, ino: 12345 }), true);
    assert.equal(isJournalStream('8:12345', { dev: 8n, ino: 12345n }), true);
    assert.equal(isJournalStream('18446744073709551615:1', { dev: 18446744073709551615n, ino: 1n }), true);
    assert.equal(isJournalStream('8:12345', { dev: 8, ino: 12346 }), false, 'stderr redirected elsewhere (inherited variable)');
    assert.equal(isJournalStream('9:12345', { dev: 8, ino: 12345 }), false);
    assert.equal(isJournalStream(undefined, { dev: 8, ino: 12345 }), false);
    assert.equal(isJournalStream('8:12345', undefined), false);
    for (const bad of ['', '8', '8:', ':1', 'a:b', '8:1:2', '-8:1', '8:1x'])
      assert.equal(isJournalStream(bad, { dev: 8, ino: 1 }), false, bad);
  });

  it('maps levels to syslog priorities', () => {
    assert.deepEqual(
      ['error', 'warn', 'info', 'debug', 'other'].map((l) => priorityPrefix(l)),
      ['<3>', '<4>', '<6>', '<7>', '<6>'],
    );
  });
});

describe('journal line format', () => {
  it('has the priority prefix and no own timestamp', () => {
    assert.equal(
      formatJournalLine({ level: 'warn', message: 'fetch failed', component: 'resolver', domain: 'a.test', code: 'EFETCH_TLS' }),
      '<4>warn resolver: fetch failed domain=a.test code=EFETCH_TLS',
    );
  });

  it('createLogger with journal: text lines prefixed, JSON lines unchanged', () => {
    const text = capture();
    const log = createLogger({ level: 'debug', format: 'text' }, { stream: text.stream, journal: true });
    log.error('boom', { component: 'main', code: 'E1' });
    log.debug('detail');
    assert.deepEqual(text.lines(), ['<3>error main: boom code=E1', '<7>debug main: detail']);
    const json = capture();
    createLogger({ level: 'info', format: 'json' }, { stream: json.stream, journal: true }).info('x');
    assert.match(json.lines()[0] ?? '', /^\{"time":"[^"]+","level":"info","component":"main","msg":"x"\}$/);
  });

  it('--log-format overrides the config, and a reload keeps the override', () => {
    const out = capture();
    const log = createLogger({ level: 'info', format: 'text' }, { stream: out.stream, format: 'json', journal: false });
    const child = log.child({ component: 'server' });
    child.info('one');
    reconfigureLogger(log, { level: 'debug', format: 'text' }, { format: 'json', journal: false });
    child.debug('two');
    reconfigureLogger(log, { level: 'warn', format: 'json' }, { journal: false });
    child.info('hidden');
    child.warn('three');
    reconfigureLogger(log, { level: 'info', format: 'text' }, { journal: false });
    child.info('four');
    const lines = out.lines();
    assert.equal(lines.length, 4, lines.join('\n'));
    assert.match(lines[0] ?? '', /^\{.*"msg":"one"/);
    assert.match(lines[1] ?? '', /^\{.*"level":"debug".*"msg":"two"/);
    assert.match(lines[2] ?? '', /^\{.*"msg":"three"/);
    assert.match(lines[3] ?? '', /^\d{4}-\d\d-\d\dT[^ ]+ info server: four$/);
  });
});
