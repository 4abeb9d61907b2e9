/**
 * Fuzzing the config loader (`parseConfigText`, from a string) and the stored-entry codec
 * (adapters/cache/entry-json.ts); seeded and time-bounded (budget.ts).
 *  - The loader never throws: it returns a config or at least one problem, each with a
 *    documented code and a line inside the text; it gives the same answer twice; a config it
 *    returns is frozen, has a listener, and every listener's zone exists.
 *  - The codec never throws; it returns only entries of the asked domain and of the current
 *    shape, and gives back exactly what it encoded.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { decodeEntryText, encodeEntry } from '../../adapters/cache/entry-json.js';
import { checkStoredEntry, MAX_AGE_LIMIT_SEC } from '../../src/cache/entry-check.js';
import { CACHE_ENTRY_VERSION, isPolicyEntry, type PolicyEntry } from '../../src/cache/types.js';
import { parseConfigText } from '../../src/config/load.js';
import type { ConfigProblemCode } from '../../src/config/problems.js';
import { parsePolicyFile } from '../../src/policy/policy-file.js';
import { runFuzz } from './budget.js';

const PROBLEM_CODES: ReadonlySet<ConfigProblemCode> = new Set<ConfigProblemCode>([
  'ECONFIG_READ',
  'ECONFIG_TOO_LARGE',
  'ECONFIG_SYNTAX',
  'ECONFIG_DUPLICATE_KEY',
  'ECONFIG_UNKNOWN_KEY',
  'ECONFIG_TYPE',
  'ECONFIG_RANGE',
  'ECONFIG_BAD_VALUE',
  'ECONFIG_ADDRESS',
  'ECONFIG_MISSING_KEY',
  'ECONFIG_DUPLICATE_LISTENER',
  'ECONFIG_UNKNOWN_ZONE',
  'ECONFIG_NO_LISTENER',
  'ECONFIG_UNSUPPORTED',
  'ECONFIG_IGNORED',
  'ECONFIG_YAML_WARNING',
]);

const KEYS = [
  'host',
  'port',
  'path',
  'mode',
  'reuse_port',
  'listeners',
  'protocol',
  'address',
  'zone',
  'name',
  'owner',
  'group',
  'zones',
  'default_zone',
  'timeout',
  'strict_testing',
  'require_sni',
  'tlsrpt',
  'dns_error',
  'cache',
  'type',
  'options',
  'cache_size',
  'filename',
  'url',
  'sentinels',
  'sentinel_master_name',
  'cluster_nodes',
  'dsn',
  'logging',
  'level',
  'format',
  'shutdown_timeout',
  'cache_grace',
  'negative_cache_ttl',
  'idle_timeout',
  'proactive_policy_fetching',
  'enabled',
  'interval',
  'concurrency_limit',
  'grace_ratio',
  'jitter',
  'policy_delegation',
  'queue_size',
  'concurrency',
  'skip_domains',
  'state_directory',
  '<<',
  'x',
];
const SCALARS = [
  '127.0.0.1:8461',
  'unix:/run/x.sock',
  '[::1]:8461',
  'socketmap',
  'tcp_table',
  'policy',
  'exim',
  'sqlite',
  'redis',
  'redis_sentinel',
  'postgres',
  'internal',
  'redis://127.0.0.1/0',
  'debug',
  'json',
  'temp',
  'no-policy',
  '0666',
  '0o660',
  '.example.org',
  'example.org',
  'mymaster',
  'z',
  'a b',
  '',
  '~',
  'null',
  'yes',
  'off',
  '1e309',
  '-1',
  '0',
  '8461',
  '65536',
  '10_000',
  '0.5',
  'true',
];

/** YAML from random trees over the real keys, values and types. */
const treeYaml: fc.Arbitrary<string> = fc
  .letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constantFrom<unknown>(...SCALARS),
      fc.integer({ min: -2, max: 70000 }),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(fc.constantFrom(...KEYS), tie('value'), { maxKeys: 5 }),
    ),
  }))
  .value.map((tree) => {
    try {
      return stringify(tree);
    } catch {
      return '';
    }
  });

/** YAML-ish text: tokens (anchors, aliases, merge keys, flow and block syntax) and random characters. */
const tokenYaml: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...KEYS.map((k) => `${k}: `), ...SCALARS) },
      {
        weight: 4,
        arbitrary: fc.constantFrom(
          '\n',
          '\n  ',
          '\n    ',
          '- ',
          '{',
          '}',
          '[',
          ']',
          ', ',
          ': ',
          '&a ',
          '*a',
          '&b ',
          '*b',
          '<<: *a',
          '!!str ',
          '!tag ',
          '"',
          "'",
          '#',
          '---\n',
          '...\n',
          '? ',
          '|\n  ',
          '%YAML 1.2\n',
          '\t',
        ),
      },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
    ),
    { maxLength: 60 },
  )
  .map((p) => p.join(''));

/** A tree's YAML with random damage. */
const damagedYaml: fc.Arbitrary<string> = fc
  .tuple(
    treeYaml,
    fc.array(fc.tuple(fc.nat(), fc.nat(4), fc.constantFrom('', ' ', '\n', ':', '-', '&a ', '*a', '{', '"', '\t')), { maxLength: 4 }),
  )
  .map(([text, edits]) => {
    let out = text;
    for (const [at, remove, insert] of edits) {
      const i = at % (out.length + 1);
      out = out.slice(0, i) + insert + out.slice(i + remove);
    }
    return out;
  });

function lineCount(text: string): number {
  return text.split('\n').length;
}

describe('fuzz: config loader (parseConfigText)', () => {
  it('never throws; a config or documented problems located in the text; deterministic; a loaded config is consistent', (t) => {
    let loaded = 0;
    let runs = 0;
    runFuzz(
      t,
      fc.property(fc.oneof(treeYaml, tokenYaml, damagedYaml), (text) => {
        const result = parseConfigText(text, 'fuzz.yml');
        runs += 1;
        if (result.ok) loaded += 1;
        assert.deepStrictEqual(parseConfigText(text, 'fuzz.yml'), result, 'not deterministic');
        const reported = result.ok ? result.warnings : result.problems;
        if (!result.ok) assert.ok(result.problems.length > 0, 'failed without a problem');
        for (const p of reported) {
          assert.ok(PROBLEM_CODES.has(p.code), `undocumented code ${p.code}`);
          assert.equal(typeof p.path, 'string');
          assert.equal(typeof p.message, 'string');
          if (p.line !== undefined) assert.ok(p.line >= 1 && p.line <= lineCount(text) + 1, `line ${p.line} outside the text`);
        }
        if (!result.ok) return;
        const config = result.config;
        assert.ok(Object.isFrozen(config) && Object.isFrozen(config.listeners), 'a loaded config must be frozen');
        assert.ok(config.listeners.length >= 1, 'a loaded config listens somewhere');
        for (const l of config.listeners) {
          if (l.zone !== undefined) assert.ok(Object.hasOwn(config.zones, l.zone), `listener zone ${l.zone} not defined`);
        }
        for (const zone of [config.defaultZone, ...Object.values(config.zones)]) {
          assert.ok(zone.timeoutSec > 0 && zone.timeoutSec <= 60, `zone timeout ${zone.timeoutSec}`);
        }
      }),
      1,
    );
    t.diagnostic(`${loaded} of ${runs} inputs loaded as a config`);
    assert.ok(loaded > 0, 'no input ever loaded: the generators miss the valid configs');
  });
});

const POLICY = 'version: STSv1\nmode: enforce\nmx: mail.example.org\nmax_age: 86400\n';
const parsed = parsePolicyFile(POLICY);
if (!parsed.ok) throw new Error('fixture policy does not parse');

const entry: fc.Arbitrary<PolicyEntry> = fc
  .record({
    domain: fc.constantFrom('example.org', 'xn--bcher-kva.example', 'a.b'),
    id: fc.string({ maxLength: 32 }),
    fetchedAt: fc.integer({ min: 0, max: 2 ** 42 }),
    age: fc.integer({ min: 0, max: 31_557_600 }),
    checked: fc.integer({ min: 0, max: 10 ** 9 }),
  })
  .map(({ domain, id, fetchedAt, age, checked }) => ({
    v: CACHE_ENTRY_VERSION,
    domain,
    id,
    policyText: POLICY,
    policy: parsed.value,
    fetchedAt,
    expiresAt: fetchedAt + age * 1000,
    checkedAt: fetchedAt + checked,
  }));

/** Stored text: real encodings, damaged ones, and any JSON. */
const storedText: fc.Arbitrary<string> = fc.oneof(
  entry.map(encodeEntry),
  fc.tuple(entry.map(encodeEntry), fc.nat(), fc.nat(6), fc.string({ maxLength: 4 })).map(([s, at, rm, ins]) => {
    const i = at % (s.length + 1);
    return s.slice(0, i) + ins + s.slice(i + rm);
  }),
  entry.map((e) => JSON.stringify({ ...e, v: 2 })),
  fc.json(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.anything().map((v) => {
    try {
      return JSON.stringify(v) ?? '';
    } catch {
      return '';
    }
  }),
);

describe('fuzz: stored-entry codec (entry-json)', () => {
  it('never throws; returns only current-shape entries of the asked domain', (t) => {
    runFuzz(
      t,
      fc.property(storedText, fc.constantFrom('example.org', 'a.b', ''), (text, domain) => {
        const decoded = decodeEntryText(domain, text);
        if (decoded === undefined) return;
        assert.ok(isPolicyEntry(decoded));
        assert.equal(decoded.v, CACHE_ENTRY_VERSION);
        assert.equal(decoded.domain, domain);
        for (const time of [decoded.fetchedAt, decoded.expiresAt, decoded.checkedAt]) assert.equal(typeof time, 'number');
      }),
      0.6,
    );
  });

  it('gives back exactly what it encoded', (t) => {
    runFuzz(
      t,
      fc.property(entry, (e) => {
        assert.deepStrictEqual(decodeEntryText(e.domain, encodeEntry(e)), e);
        assert.equal(decodeEntryText(`x${e.domain}`, encodeEntry(e)), undefined, 'an entry of another domain');
      }),
      0.4,
    );
  });
});

/** Stored entries with any of their fields forged: policy text, derived policy, times. */
const POLICY_TEXTS = [
  POLICY,
  'version: STSv1\nmode: testing\nmx: mail.example.org\nmax_age: 600\n',
  'version: STSv1\nmode: none\nmax_age: 86400\n',
  'mode: enforce\n',
  '',
];
const forged: fc.Arbitrary<PolicyEntry> = fc
  .record({
    base: entry,
    text: fc.constantFrom(...POLICY_TEXTS),
    mode: fc.constantFrom('enforce', 'testing', 'none', 'bogus'),
    mx: fc.constantFrom(['mail.example.org'], [], ['*.example.org'], ['mail.example.org', 'x']),
    maxAge: fc.oneof(fc.constant(86400), fc.constant(600), fc.integer({ min: -1, max: 2 ** 31 })),
    expiresAt: fc.oneof(fc.constant(undefined), fc.double(), fc.constant(1e300), fc.constant(Number.NaN)),
  })
  .map(({ base, text, mode, mx, maxAge, expiresAt }) => ({
    ...base,
    policyText: text,
    policy: { ...base.policy, mode, mx, maxAge } as PolicyEntry['policy'],
    ...(expiresAt !== undefined ? { expiresAt } : {}),
  }));

describe('fuzz: stored-entry check (entry-check)', () => {
  it('accepts an entry only when its policy text parses and every derived field and time agrees with it', (t) => {
    runFuzz(
      t,
      fc.property(forged, fc.integer({ min: 0, max: 2 ** 42 }), (e, now) => {
        const checked = checkStoredEntry(e, now);
        if (!checked.ok) return;
        // Checked independently of the checker: the text is the truth.
        const truth = parsePolicyFile(e.policyText);
        assert.ok(truth.ok, 'accepted an entry whose text does not parse');
        assert.equal(e.policy.mode, truth.value.mode);
        assert.deepEqual([...e.policy.mx], [...truth.value.mx]);
        assert.equal(e.policy.maxAge, truth.value.maxAge);
        assert.deepEqual(checked.entry.policy, truth.value);
        assert.ok(Number.isFinite(e.expiresAt) && e.expiresAt <= e.fetchedAt + MAX_AGE_LIMIT_SEC * 1000);
        assert.ok(e.expiresAt <= e.fetchedAt + truth.value.maxAge * 1000);
      }),
      0.3,
    );
  });
});
