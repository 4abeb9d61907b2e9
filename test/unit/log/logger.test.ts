import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, formatJsonLine, formatTextLine, isLogLevel, orderedFields } from '../../../src/log/logger.js';

const T = new Date('2026-01-02T03:04:05.678Z');

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

describe('formatTextLine', () => {
  it('prints time, level, component, message, then stable fields first and the rest by name', () => {
    const line = formatTextLine(
      {
        level: 'info',
        message: 'decision',
        component: 'resolver',
        zz: 1,
        aa: 'x',
        peer: 'p',
        domain: 'example.com',
        code: 'E1',
        outcome: 'policy',
      },
      T,
    );
    assert.equal(line, '2026-01-02T03:04:05.678Z info resolver: decision domain=example.com outcome=policy code=E1 peer=p aa=x zz=1');
  });

  const quoting: Array<[unknown, string]> = [
    ['plain', 'plain'],
    ['two words', '"two words"'],
    ['a=b', '"a=b"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['line\nbreak', '"line\\nbreak"'],
    ['', '""'],
    [42, '42'],
    [true, 'true'],
    [['mx1.example.com', '*.example.net'], 'mx1.example.com,*.example.net'],
    [['a b', 'c'], '"a b,c"'],
    [{ k: 1 }, '{"k":1}'],
    [{ k: 'a b' }, '"{\\"k\\":\\"a b\\"}"'],
  ];
  for (const [value, shown] of quoting) {
    it(`renders ${JSON.stringify(value)} as ${shown}`, () => {
      assert.equal(formatTextLine({ level: 'info', message: 'm', component: 'c', v: value }, T), `${T.toISOString()} info c: m v=${shown}`);
    });
  }

  it('keeps a multi-line message on one line and names a missing component "main"', () => {
    assert.equal(formatTextLine({ level: 'warn', message: 'a\nb' }, T), `${T.toISOString()} warn main: a\\nb`);
  });

  it('renders an Error field with its code and message', () => {
    const err = Object.assign(new Error('boom'), { code: 'EBOOM' });
    assert.match(formatTextLine({ level: 'error', message: 'm', error: err }, T), / error="EBOOM: boom"$/);
  });

  it('omits undefined fields', () => {
    assert.deepEqual(orderedFields({ level: 'info', message: 'm', domain: undefined, x: undefined, y: 0 }), [['y', 0]]);
  });
});

describe('formatJsonLine', () => {
  it('is one JSON object with time, level, component, msg, then fields in stable order', () => {
    const line = formatJsonLine({ level: 'info', message: 'm', component: 'server', b: 2, listener: 'l', domain: 'd' }, T);
    assert.equal(
      line,
      '{"time":"2026-01-02T03:04:05.678Z","level":"info","component":"server","msg":"m","domain":"d","listener":"l","b":2}',
    );
  });

  it('survives circular values', () => {
    const o: Record<string, unknown> = {};
    o['self'] = o;
    const parsed = JSON.parse(formatJsonLine({ level: 'info', message: 'm', o }, T)) as Record<string, unknown>;
    assert.equal(parsed['msg'], 'm');
  });
});

describe('createLogger', () => {
  it('writes text lines through child loggers with their component', () => {
    const { stream, lines } = capture();
    const log = createLogger({ level: 'info', format: 'text' }, { stream });
    log.child({ component: 'resolver' }).info('fetched', { domain: 'example.com', source: 'fetched' });
    log.debug('hidden');
    const out = lines();
    assert.equal(out.length, 1);
    assert.match(out[0] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info resolver: fetched domain=example\.com source=fetched$/);
  });

  it('writes JSON lines', () => {
    const { stream, lines } = capture();
    const log = createLogger({ level: 'warn', format: 'json' }, { stream });
    log.child({ component: 'server' }).warn('protocol error', { code: 'ENETSTRING_SYNTAX', peer: '127.0.0.1:1' });
    log.info('hidden');
    const out = lines();
    assert.equal(out.length, 1);
    const obj = JSON.parse(out[0] ?? '') as Record<string, unknown>;
    assert.equal(obj['level'], 'warn');
    assert.equal(obj['component'], 'server');
    assert.equal(obj['msg'], 'protocol error');
    assert.equal(obj['code'], 'ENETSTRING_SYNTAX');
    assert.equal(obj['peer'], '127.0.0.1:1');
  });

  it('lets -v override the configured level', () => {
    const { stream, lines } = capture();
    const log = createLogger({ level: 'error', format: 'text' }, { stream, level: 'debug' });
    log.debug('shown');
    assert.equal(lines().length, 1);
  });

  it('knows the levels', () => {
    assert.ok(isLogLevel('debug'));
    assert.ok(!isLogLevel('verbose'));
    assert.ok(!isLogLevel('INFO'));
  });
});

describe('createLogger level methods', () => {
  it('does no formatting work for a disabled level, in the logger and its children', () => {
    const out = capture();
    const log = createLogger({ level: 'warn', format: 'text' }, { stream: out.stream });
    const child = log.child({ component: 'resolver' });
    let built = 0;
    // A field whose serialization is observable: it is only touched if the line is formatted.
    const probe = { toJSON: () => (built += 1) };
    child.debug('lookup', { domain: 'example.com', probe });
    child.info('decision', { domain: 'example.com', probe });
    assert.equal(built, 0, 'disabled levels never reach the format');
    assert.deepEqual(out.lines(), []);
    child.warn('fetch failed', { domain: 'example.com', code: 'EFETCH_TLS' });
    assert.equal(out.lines().length, 1);
    assert.match(out.lines()[0] ?? '', /warn resolver: fetch failed domain=example.com code=EFETCH_TLS/);
  });

  it('follows a level changed after creation', () => {
    const out = capture();
    const log = createLogger({ level: 'warn', format: 'text' }, { stream: out.stream });
    const child = log.child({ component: 'x' });
    child.debug('hidden');
    log.level = 'debug';
    child.debug('shown');
    assert.deepEqual(
      out.lines().map((l) => l.replace(/^\S+ /, '')),
      ['debug x: shown'],
    );
  });
});
