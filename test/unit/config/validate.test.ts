import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultConfig, parseConfigText } from '../../../src/config/load.js';
import { expectConfig, expectProblems, type ExpectedProblem } from './config-helpers.js';

/** One bad value: the YAML, and the single problem it must produce. */
interface BadCase {
  yaml: string;
  code: ExpectedProblem['code'];
  path: string;
  line: number;
  message?: string | RegExp;
}

// Every key, wrong type and out of range. The offending value's line is given explicitly.
const BAD: readonly BadCase[] = [
  // top level: listener shorthand
  { yaml: 'port: abc', code: 'ECONFIG_TYPE', path: 'port', line: 1, message: 'must be an integer' },
  { yaml: 'port: 1.5', code: 'ECONFIG_TYPE', path: 'port', line: 1 },
  { yaml: 'port: "8461"', code: 'ECONFIG_TYPE', path: 'port', line: 1 },
  { yaml: 'port: 0', code: 'ECONFIG_RANGE', path: 'port', line: 1, message: 'at least 1 and at most 65535' },
  { yaml: 'port: 65536', code: 'ECONFIG_RANGE', path: 'port', line: 1 },
  { yaml: 'port: -1', code: 'ECONFIG_RANGE', path: 'port', line: 1 },
  { yaml: 'host: 12', code: 'ECONFIG_TYPE', path: 'host', line: 1, message: 'must be a string' },
  { yaml: 'host: ""', code: 'ECONFIG_BAD_VALUE', path: 'host', line: 1, message: 'must not be empty' },
  { yaml: 'host: "not a host!"', code: 'ECONFIG_ADDRESS', path: 'host', line: 1 },
  { yaml: 'host: "[::1]"', code: 'ECONFIG_ADDRESS', path: 'host', line: 1, message: 'without brackets' },
  { yaml: 'host: "*"', code: 'ECONFIG_ADDRESS', path: 'host', line: 1, message: '0.0.0.0' },
  { yaml: 'host: [a, b]', code: 'ECONFIG_TYPE', path: 'host', line: 1 },
  { yaml: 'path: 5', code: 'ECONFIG_TYPE', path: 'path', line: 1 },
  { yaml: `path: /${'a'.repeat(120)}`, code: 'ECONFIG_ADDRESS', path: 'path', line: 1, message: 'at most 107' },
  { yaml: 'reuse_port: maybe', code: 'ECONFIG_TYPE', path: 'reuse_port', line: 1, message: 'true or false' },
  { yaml: 'reuse_port: 1', code: 'ECONFIG_TYPE', path: 'reuse_port', line: 1 },
  { yaml: 'reuse_port: "yes"', code: 'ECONFIG_TYPE', path: 'reuse_port', line: 1 },
  // top level: timing and caches
  { yaml: 'shutdown_timeout: fast', code: 'ECONFIG_TYPE', path: 'shutdown_timeout', line: 1, message: 'found the string "fast"' },
  { yaml: 'shutdown_timeout: 0', code: 'ECONFIG_RANGE', path: 'shutdown_timeout', line: 1, message: 'greater than 0' },
  { yaml: 'shutdown_timeout: 601', code: 'ECONFIG_RANGE', path: 'shutdown_timeout', line: 1 },
  { yaml: 'cache_grace: x', code: 'ECONFIG_TYPE', path: 'cache_grace', line: 1 },
  { yaml: 'cache_grace: -1', code: 'ECONFIG_RANGE', path: 'cache_grace', line: 1, message: 'at least 0' },
  { yaml: 'cache_grace: 86401', code: 'ECONFIG_RANGE', path: 'cache_grace', line: 1 },
  { yaml: 'negative_cache_ttl: []', code: 'ECONFIG_TYPE', path: 'negative_cache_ttl', line: 1, message: 'found a list' },
  { yaml: 'negative_cache_ttl: -1', code: 'ECONFIG_RANGE', path: 'negative_cache_ttl', line: 1 },
  { yaml: 'negative_cache_ttl: 86401', code: 'ECONFIG_RANGE', path: 'negative_cache_ttl', line: 1 },
  { yaml: 'negative_cache_size: 1.5', code: 'ECONFIG_TYPE', path: 'negative_cache_size', line: 1, message: 'integer' },
  { yaml: 'negative_cache_size: -1', code: 'ECONFIG_RANGE', path: 'negative_cache_size', line: 1 },
  { yaml: 'negative_cache_size: 10000001', code: 'ECONFIG_RANGE', path: 'negative_cache_size', line: 1 },
  { yaml: 'idle_timeout: 0', code: 'ECONFIG_RANGE', path: 'idle_timeout', line: 1 },
  { yaml: 'idle_timeout: 3601', code: 'ECONFIG_RANGE', path: 'idle_timeout', line: 1 },
  { yaml: 'idle_timeout: .inf', code: 'ECONFIG_TYPE', path: 'idle_timeout', line: 1 },
  { yaml: 'idle_timeout: .nan', code: 'ECONFIG_TYPE', path: 'idle_timeout', line: 1 },
  // cache
  { yaml: 'cache: internal', code: 'ECONFIG_TYPE', path: 'cache', line: 1, message: 'must be a mapping' },
  { yaml: 'cache:\n  type: 5', code: 'ECONFIG_TYPE', path: 'cache.type', line: 2 },
  { yaml: 'cache:\n  type: lru', code: 'ECONFIG_BAD_VALUE', path: 'cache.type', line: 2, message: 'must be one of "internal"' },
  { yaml: 'cache:\n  type: internl', code: 'ECONFIG_BAD_VALUE', path: 'cache.type', line: 2, message: 'did you mean "internal"?' },
  { yaml: 'cache:\n  options: []', code: 'ECONFIG_TYPE', path: 'cache.options', line: 2 },
  { yaml: 'cache:\n  options:\n    cache_size: 0', code: 'ECONFIG_RANGE', path: 'cache.options.cache_size', line: 3 },
  { yaml: 'cache:\n  options:\n    cache_size: big', code: 'ECONFIG_TYPE', path: 'cache.options.cache_size', line: 3 },
  { yaml: 'cache:\n  options:\n    cache_size: 1.5', code: 'ECONFIG_TYPE', path: 'cache.options.cache_size', line: 3 },
  { yaml: 'cache:\n  options:\n    cache_size: 10000001', code: 'ECONFIG_RANGE', path: 'cache.options.cache_size', line: 3 },
  // proactive_policy_fetching
  { yaml: 'proactive_policy_fetching: yes', code: 'ECONFIG_TYPE', path: 'proactive_policy_fetching', line: 1 },
  { yaml: 'proactive_policy_fetching:\n  enabled: sometimes', code: 'ECONFIG_TYPE', path: 'proactive_policy_fetching.enabled', line: 2 },
  { yaml: 'proactive_policy_fetching:\n  interval: 0', code: 'ECONFIG_RANGE', path: 'proactive_policy_fetching.interval', line: 2 },
  { yaml: 'proactive_policy_fetching:\n  interval: daily', code: 'ECONFIG_TYPE', path: 'proactive_policy_fetching.interval', line: 2 },
  {
    yaml: 'proactive_policy_fetching:\n  concurrency_limit: 0',
    code: 'ECONFIG_RANGE',
    path: 'proactive_policy_fetching.concurrency_limit',
    line: 2,
  },
  { yaml: 'proactive_policy_fetching:\n  grace_ratio: 0', code: 'ECONFIG_RANGE', path: 'proactive_policy_fetching.grace_ratio', line: 2 },
  { yaml: 'proactive_policy_fetching:\n  grace_ratio: x', code: 'ECONFIG_TYPE', path: 'proactive_policy_fetching.grace_ratio', line: 2 },
  { yaml: 'proactive_policy_fetching:\n  jitter: -0.1', code: 'ECONFIG_RANGE', path: 'proactive_policy_fetching.jitter', line: 2 },
  { yaml: 'proactive_policy_fetching:\n  jitter: 0.6', code: 'ECONFIG_RANGE', path: 'proactive_policy_fetching.jitter', line: 2 },
  { yaml: 'proactive_policy_fetching:\n  jitter: lots', code: 'ECONFIG_TYPE', path: 'proactive_policy_fetching.jitter', line: 2 },
  // default_zone
  { yaml: 'default_zone: 5', code: 'ECONFIG_TYPE', path: 'default_zone', line: 1 },
  { yaml: 'default_zone:\n  strict_testing: x', code: 'ECONFIG_TYPE', path: 'default_zone.strict_testing', line: 2 },
  {
    yaml: 'default_zone:\n  timeout: 0',
    code: 'ECONFIG_RANGE',
    path: 'default_zone.timeout',
    line: 2,
    message: 'greater than 0 and at most 60',
  },
  { yaml: 'default_zone:\n  timeout: 61', code: 'ECONFIG_RANGE', path: 'default_zone.timeout', line: 2 },
  { yaml: 'default_zone:\n  timeout: 4s', code: 'ECONFIG_TYPE', path: 'default_zone.timeout', line: 2 },
  { yaml: 'default_zone:\n  require_sni: 1', code: 'ECONFIG_TYPE', path: 'default_zone.require_sni', line: 2 },
  { yaml: 'default_zone:\n  tlsrpt: x', code: 'ECONFIG_TYPE', path: 'default_zone.tlsrpt', line: 2 },
  {
    yaml: 'default_zone:\n  dns_error: fail',
    code: 'ECONFIG_BAD_VALUE',
    path: 'default_zone.dns_error',
    line: 2,
    message: '"no-policy", "temp"',
  },
  { yaml: 'default_zone:\n  dns_error: true', code: 'ECONFIG_TYPE', path: 'default_zone.dns_error', line: 2 },
  // zones
  { yaml: 'zones: []', code: 'ECONFIG_TYPE', path: 'zones', line: 1 },
  { yaml: 'zones:\n  myzone: 5', code: 'ECONFIG_TYPE', path: 'zones.myzone', line: 2 },
  { yaml: 'zones:\n  myzone:\n    timeout: -1', code: 'ECONFIG_RANGE', path: 'zones.myzone.timeout', line: 3 },
  { yaml: 'zones:\n  myzone:\n    strict_testing: 2', code: 'ECONFIG_TYPE', path: 'zones.myzone.strict_testing', line: 3 },
  { yaml: 'zones:\n  "my.zone":\n    tlsrpt: x', code: 'ECONFIG_TYPE', path: 'zones["my.zone"].tlsrpt', line: 3 },
  { yaml: 'zones:\n  "two words": {}', code: 'ECONFIG_BAD_VALUE', path: 'zones["two words"]', line: 2, message: 'one word' },
  // logging
  { yaml: 'logging: info', code: 'ECONFIG_TYPE', path: 'logging', line: 1 },
  { yaml: 'logging:\n  level: verbose', code: 'ECONFIG_BAD_VALUE', path: 'logging.level', line: 2 },
  { yaml: 'logging:\n  level: debgu', code: 'ECONFIG_BAD_VALUE', path: 'logging.level', line: 2, message: 'did you mean "debug"?' },
  { yaml: 'logging:\n  format: xml', code: 'ECONFIG_BAD_VALUE', path: 'logging.format', line: 2 },
  // listeners
  { yaml: 'listeners: "127.0.0.1:8461"', code: 'ECONFIG_TYPE', path: 'listeners', line: 1, message: 'must be a list' },
  { yaml: 'listeners:\n  - x', code: 'ECONFIG_TYPE', path: 'listeners[0]', line: 2, message: 'must be a mapping' },
  { yaml: 'listeners:\n  - address: 8461', code: 'ECONFIG_TYPE', path: 'listeners[0].address', line: 2 },
  { yaml: 'listeners:\n  - address: "1.2.3.4:1"\n    protocol: 5', code: 'ECONFIG_TYPE', path: 'listeners[0].protocol', line: 3 },
  { yaml: 'listeners:\n  - address: "1.2.3.4:1"\n    protocol: smtp', code: 'ECONFIG_BAD_VALUE', path: 'listeners[0].protocol', line: 3 },
  { yaml: 'listeners:\n  - address: "1.2.3.4:1"\n    reuse_port: x', code: 'ECONFIG_TYPE', path: 'listeners[0].reuse_port', line: 3 },
  { yaml: 'listeners:\n  - address: "1.2.3.4:1"\n    zone: 5', code: 'ECONFIG_TYPE', path: 'listeners[0].zone', line: 3 },
  { yaml: 'listeners:\n  - address: unix:/x\n    mode: rw', code: 'ECONFIG_BAD_VALUE', path: 'listeners[0].mode', line: 3 },
];

describe('config validation: wrong types and out-of-range values', () => {
  for (const c of BAD) {
    it(`${c.path}: ${JSON.stringify(c.yaml.split('\n').at(-1))} → ${c.code}`, () => {
      const [problem] = expectProblems(c.yaml, [c]);
      assert.ok(problem !== undefined && problem.column !== undefined && problem.column >= 1);
    });
  }
});

// Values people write that must be accepted, and what they become.
const GOOD: readonly { yaml: string; check: (c: ReturnType<typeof expectConfig>['config']) => unknown; want: unknown }[] = [
  { yaml: 'reuse_port: yes', check: (c) => c.listeners[0]?.reusePort, want: true },
  { yaml: 'reuse_port: off', check: (c) => c.listeners[0]?.reusePort, want: false },
  { yaml: 'reuse_port: False', check: (c) => c.listeners[0]?.reusePort, want: false },
  { yaml: 'default_zone:\n  timeout: 2.5', check: (c) => c.defaultZone.timeoutSec, want: 2.5 },
  { yaml: 'default_zone:\n  timeout: 60', check: (c) => c.defaultZone.timeoutSec, want: 60 },
  { yaml: 'default_zone:\n  dns_error: temp', check: (c) => c.defaultZone.dnsErrorAnswer, want: 'temp' },
  { yaml: 'default_zone:\n  tlsrpt: true', check: (c) => c.defaultZone.tlsrpt, want: true },
  { yaml: 'cache_grace: 0', check: (c) => c.cacheGraceSec, want: 0 },
  { yaml: 'cache_grace: 1.5', check: (c) => c.cacheGraceSec, want: 1.5 },
  { yaml: 'negative_cache_ttl: 0', check: (c) => c.negativeCacheTtlSec, want: 0 },
  { yaml: 'negative_cache_size: 10_000', check: (c) => c.negativeCacheSize, want: 10_000 },
  { yaml: 'idle_timeout: 5', check: (c) => c.idleTimeoutSec, want: 5 },
  { yaml: 'shutdown_timeout: 0.5', check: (c) => c.shutdownTimeoutSec, want: 0.5 },
  { yaml: 'port: 65535', check: (c) => c.listeners[0]?.address, want: { kind: 'tcp', host: '127.0.0.1', port: 65535 } },
  { yaml: 'port: 0x20CD', check: (c) => c.listeners[0]?.address, want: { kind: 'tcp', host: '127.0.0.1', port: 8397 } },
  { yaml: 'cache:\n  type: memory', check: (c) => c.cache, want: { type: 'internal', cacheSize: 10000 } },
  { yaml: 'cache:\n  type: internal\n  options:\n    cache_size: 5', check: (c) => c.cache, want: { type: 'internal', cacheSize: 5 } },
  { yaml: 'logging:\n  level: warning', check: (c) => c.logging.level, want: 'warn' },
  { yaml: 'logging:\n  level: debug\n  format: json', check: (c) => c.logging, want: { level: 'debug', format: 'json' } },
  { yaml: 'proactive_policy_fetching:\n  enabled: false\n  interval: 3600', check: (c) => c.cache.type, want: 'sqlite' },
  {
    yaml: 'proactive_policy_fetching:\n  enabled: true\n  interval: 3600\n  concurrency_limit: 7\n  grace_ratio: 1.5\n  jitter: 0',
    check: (c) => c.proactiveFetching,
    want: { enabled: true, intervalSec: 3600, concurrencyLimit: 7, graceRatio: 1.5, jitter: 0 },
  },
  {
    yaml: 'proactive_policy_fetching:\n  enabled: yes',
    check: (c) => c.proactiveFetching,
    want: { enabled: true, intervalSec: 86400, concurrencyLimit: 100, graceRatio: 2, jitter: 0.1 },
  },
  { yaml: 'port:', check: (c) => c.listeners[0]?.address, want: { kind: 'tcp', host: '127.0.0.1', port: 8461 } },
  { yaml: 'zones:', check: (c) => c.zones, want: {} },
];

describe('config validation: accepted values', () => {
  for (const g of GOOD) {
    it(JSON.stringify(g.yaml), () => {
      const { config, warnings } = expectConfig(g.yaml);
      assert.deepEqual(g.check(config), g.want);
      assert.deepEqual(warnings, []);
    });
  }
});

describe('config validation: unknown keys', () => {
  const cases: readonly BadCase[] = [
    { yaml: 'prot: 8461', code: 'ECONFIG_UNKNOWN_KEY', path: 'prot', line: 1, message: 'unknown key "prot" (did you mean "port"?)' },
    { yaml: 'port: 1\nreuse-port: true', code: 'ECONFIG_UNKNOWN_KEY', path: 'reuse-port', line: 2, message: 'did you mean "reuse_port"?' },
    { yaml: 'frobnicate: 1', code: 'ECONFIG_UNKNOWN_KEY', path: 'frobnicate', line: 1, message: /^unknown key "frobnicate"$/ },
    {
      yaml: 'default_zone:\n  strict_test: true',
      code: 'ECONFIG_UNKNOWN_KEY',
      path: 'default_zone.strict_test',
      line: 2,
      message: '"strict_testing"',
    },
    { yaml: 'zones:\n  z:\n    timout: 5', code: 'ECONFIG_UNKNOWN_KEY', path: 'zones.z.timout', line: 3, message: '"timeout"' },
    { yaml: 'cache:\n  options:\n    size: 5', code: 'ECONFIG_UNKNOWN_KEY', path: 'cache.options.size', line: 3 },
    { yaml: 'cache:\n  typ: internal', code: 'ECONFIG_UNKNOWN_KEY', path: 'cache.typ', line: 2, message: '"type"' },
    { yaml: 'logging:\n  lvl: info', code: 'ECONFIG_UNKNOWN_KEY', path: 'logging.lvl', line: 2 },
    {
      yaml: 'proactive_policy_fetching:\n  enable: false',
      code: 'ECONFIG_UNKNOWN_KEY',
      path: 'proactive_policy_fetching.enable',
      line: 2,
      message: '"enabled"',
    },
    {
      yaml: 'listeners:\n  - adress: "1.2.3.4:1"',
      code: 'ECONFIG_UNKNOWN_KEY',
      path: 'listeners[0].adress',
      line: 2,
      message: '"address"',
    },
  ];
  for (const c of cases) {
    it(c.path, () => {
      // A listener whose only key is misspelt also lacks its address.
      const extra: ExpectedProblem[] = c.path.startsWith('listeners')
        ? [{ code: 'ECONFIG_MISSING_KEY', path: 'listeners[0].address', line: c.line }]
        : [];
      expectProblems(c.yaml, [c, ...extra]);
    });
  }

  it('reports every unknown key in one pass, in line order', () => {
    expectProblems('a: 1\nport: 8461\nb: 2\ndefault_zone:\n  c: 3\n', [
      { code: 'ECONFIG_UNKNOWN_KEY', path: 'a', line: 1 },
      { code: 'ECONFIG_UNKNOWN_KEY', path: 'b', line: 3 },
      { code: 'ECONFIG_UNKNOWN_KEY', path: 'default_zone.c', line: 5 },
    ]);
  });

  it('accepts the Python example\'s "logfile" key with an ECONFIG_IGNORED warning', () => {
    const { warnings } = expectConfig('host: 127.0.0.1\nlogfile: /var/log/mta-sts.log\n');
    assert.deepEqual(
      warnings.map((w) => [w.code, w.path, w.line]),
      [['ECONFIG_IGNORED', 'logfile', 2]],
    );
  });
});

describe('config validation: duplicate keys', () => {
  it('at the top level', () => {
    expectProblems('port: 1\nhost: 127.0.0.1\nport: 2\n', [
      { code: 'ECONFIG_DUPLICATE_KEY', path: 'port', line: 3, message: '"port" appears twice' },
    ]);
  });
  it('nested, alongside other problems', () => {
    expectProblems('zones:\n  a:\n    timeout: 1\n    timeout: 2\n  a: {}\nport: x\n', [
      { code: 'ECONFIG_DUPLICATE_KEY', path: 'zones.a.timeout', line: 4 },
      { code: 'ECONFIG_DUPLICATE_KEY', path: 'zones.a', line: 5 },
      { code: 'ECONFIG_TYPE', path: 'port', line: 6 },
    ]);
  });
  it('in a listener entry', () => {
    expectProblems('listeners:\n  - address: "1.2.3.4:1"\n    address: "1.2.3.4:2"\n', [
      { code: 'ECONFIG_DUPLICATE_KEY', path: 'listeners[0].address', line: 3 },
    ]);
  });
});

describe('config validation: YAML syntax errors', () => {
  const cases: readonly { name: string; yaml: string; line: number; column?: number }[] = [
    { name: 'unclosed flow list', yaml: 'port: 8461\nzones: [a\n', line: 3 },
    { name: 'bad indentation', yaml: 'default_zone:\n  timeout: 4\n strict_testing: true\n', line: 3 },
    { name: 'tab indentation', yaml: 'default_zone:\n\ttimeout: 4\n', line: 2 },
    { name: 'unclosed quote (reported where the input ends)', yaml: 'host: "127.0.0.1\nport: 1\n', line: 3 },
    { name: 'two documents', yaml: 'port: 1\n---\nport: 2\n', line: 2 },
    { name: 'nested mapping on one line', yaml: 'port: 1\nhost: a: b\n', line: 2, column: 7 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const result = parseConfigText(c.yaml, 'x.yml');
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.ok(result.problems.length >= 1);
      for (const p of result.problems) assert.equal(p.code, 'ECONFIG_SYNTAX');
      const first = result.problems[0];
      assert.equal(first?.line, c.line, JSON.stringify(result.problems));
      assert.ok(typeof first.column === 'number' && first.column >= 1);
      if (c.column !== undefined) assert.equal(first.column, c.column);
    });
  }

  it('hints at quoting for an unquoted [IPv6]:PORT', () => {
    const result = parseConfigText('listeners:\n  - address: [::1]:8461\n', 'x.yml');
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.problems[0]?.code, 'ECONFIG_SYNTAX');
    assert.equal(result.problems[0]?.line, 2);
    assert.match(result.problems[0]?.message ?? '', /quote IPv6 addresses/);
  });
});

describe('config: empty and degenerate files', () => {
  for (const [name, yaml] of [
    ['empty file', ''],
    ['only whitespace', '\n\n  \n'],
    ['only comments', '# nothing here\n# at all\n'],
    ['an empty document marker', '---\n'],
    ['explicit null', '~\n'],
  ] as const) {
    it(`${name} gives the defaults`, () => {
      const { config, warnings } = expectConfig(yaml);
      assert.deepEqual(config, defaultConfig());
      assert.deepEqual(warnings, []);
    });
  }

  for (const yaml of ['- port: 1\n', 'just a string\n', '42\n']) {
    it(`a root that is not a mapping is refused: ${JSON.stringify(yaml)}`, () => {
      expectProblems(yaml, [{ code: 'ECONFIG_TYPE', path: '', line: 1, message: 'must be a mapping' }]);
    });
  }
});

describe('config: defaults', () => {
  it('has one socketmap listener on 127.0.0.1:8461 and the documented values', () => {
    assert.deepEqual(defaultConfig(), {
      listeners: [{ protocol: 'socketmap', address: { kind: 'tcp', host: '127.0.0.1', port: 8461 }, reusePort: true, origin: 'host/port' }],
      shutdownTimeoutSec: 20,
      cacheGraceSec: 60,
      negativeCacheTtlSec: 300,
      negativeCacheSize: 100_000,
      idleTimeoutSec: 60,
      requestTimeoutSec: 10,
      cache: { type: 'sqlite', filename: 'policy-cache.sqlite', timeoutSec: 5, cacheSize: 10_000, onCorrupt: 'move' },
      defaultZone: { strictTesting: false, timeoutSec: 10, requireSni: true, tlsrpt: false, dnsErrorAnswer: 'no-policy' },
      zones: {},
      logging: { level: 'info', format: 'text' },
      policyDelegation: { queueSize: 1000, concurrency: 4, skipDomains: [] },
      proactiveFetching: { enabled: true, intervalSec: 86400, concurrencyLimit: 100, graceRatio: 2, jitter: 0.1 },
    });
  });

  it('returns frozen configs that callers cannot corrupt for each other', () => {
    const a = defaultConfig();
    assert.ok(Object.isFrozen(a) && Object.isFrozen(a.listeners) && Object.isFrozen(a.listeners[0]?.address));
    assert.ok(Object.isFrozen(a.defaultZone));
    const { config } = expectConfig('zones:\n  z: {}\n');
    assert.ok(Object.isFrozen(config.zones) && Object.isFrozen(config.zones['z']));
    assert.notEqual(defaultConfig(), a);
  });
});
