import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatListenAddress, listenAddressKey, parseListenAddress, type ListenAddress } from '../../../src/server/listen-address.js';
import { expectConfig, expectProblems } from './config-helpers.js';

describe('listener address syntax', () => {
  const good: readonly [string, ListenAddress][] = [
    ['127.0.0.1:8461', { kind: 'tcp', host: '127.0.0.1', port: 8461 }],
    ['0.0.0.0:65535', { kind: 'tcp', host: '0.0.0.0', port: 65535 }],
    ['localhost:1', { kind: 'tcp', host: 'localhost', port: 1 }],
    ['mta-sts.example.com:8461', { kind: 'tcp', host: 'mta-sts.example.com', port: 8461 }],
    ['[::1]:8461', { kind: 'tcp', host: '::1', port: 8461 }],
    ['[::]:8461', { kind: 'tcp', host: '::', port: 8461 }],
    ['[2001:db8::25]:25', { kind: 'tcp', host: '2001:db8::25', port: 25 }],
    ['inet:127.0.0.1:8461', { kind: 'tcp', host: '127.0.0.1', port: 8461 }],
    ['inet:[::1]:8461', { kind: 'tcp', host: '::1', port: 8461 }],
    ['unix:/run/x.sock', { kind: 'unix', path: '/run/x.sock' }],
    ['unix:/var/spool/postfix/private/mta-sts', { kind: 'unix', path: '/var/spool/postfix/private/mta-sts' }],
  ];
  for (const [text, want] of good) {
    it(`accepts ${text}`, () => {
      const parsed = parseListenAddress(text);
      assert.deepEqual(parsed, { ok: true, address: want });
    });
  }

  const bad: readonly [string, RegExp][] = [
    ['127.0.0.1', /missing ":PORT"/],
    ['127.0.0.1:', /not a port number/],
    ['127.0.0.1:0', /not a port number/],
    ['127.0.0.1:65536', /not a port number/],
    ['127.0.0.1:-1', /not a port number/],
    ['127.0.0.1:84a1', /not a port number/],
    ['127.0.0.1: 8461', /not a port number/],
    [':8461', /missing host/],
    ['*:8461', /missing host/],
    ['::1:8461', /needs brackets: "\[::1\]:8461"/],
    ['[::1]8461', /missing ":PORT" after "\]"/],
    ['[::1', /missing "\]"/],
    ['[127.0.0.1]:8461', /not an IPv6 address/],
    ['[::1]:', /not a port number/],
    ['bad host:25', /neither an IP address nor a host name/],
    ['-leading.example:25', /neither an IP address nor a host name/],
    ['unix:', /missing socket path/],
    ['unix:relative.sock', /must be absolute/],
    [`unix:/${'a'.repeat(107)}`, /at most 107/],
    ['unix:/run/a\0b', /NUL/],
    ['', /missing ":PORT"/],
  ];
  for (const [text, reason] of bad) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      const parsed = parseListenAddress(text);
      assert.equal(parsed.ok, false);
      if (!parsed.ok) assert.match(parsed.reason, reason);
    });
  }

  it('formats addresses back into the syntax it reads', () => {
    for (const [text, address] of good) {
      if (text.startsWith('inet:')) continue;
      assert.equal(formatListenAddress(address), text);
      assert.deepEqual(parseListenAddress(formatListenAddress(address)), { ok: true, address });
    }
  });

  it('treats host case and path spelling as the same address', () => {
    assert.equal(
      listenAddressKey({ kind: 'tcp', host: 'LocalHost', port: 1 }),
      listenAddressKey({ kind: 'tcp', host: 'localhost', port: 1 }),
    );
    assert.equal(listenAddressKey({ kind: 'unix', path: '/run//x/../x.sock' }), listenAddressKey({ kind: 'unix', path: '/run/x.sock' }));
    assert.notEqual(
      listenAddressKey({ kind: 'tcp', host: '127.0.0.1', port: 1 }),
      listenAddressKey({ kind: 'tcp', host: '127.0.0.1', port: 2 }),
    );
  });
});

describe('listeners in a config file', () => {
  it('reports a bad address with its path and line', () => {
    expectProblems('port: 8461\nlisteners:\n  - address: "127.0.0.1:8462"\n  - address: "::1:8461"\n', [
      { code: 'ECONFIG_ADDRESS', path: 'listeners[1].address', line: 4, message: 'needs brackets' },
    ]);
  });

  it('explains an unquoted [::1] (a YAML list) as a quoting problem', () => {
    expectProblems('listeners:\n  - address: [::1]\n', [
      { code: 'ECONFIG_TYPE', path: 'listeners[0].address', line: 2, message: 'quote IPv6 addresses' },
    ]);
  });

  it('requires an address', () => {
    expectProblems('listeners:\n  - protocol: socketmap\n', [{ code: 'ECONFIG_MISSING_KEY', path: 'listeners[0].address', line: 2 }]);
  });

  it('defaults protocol to socketmap and reuse_port to the top-level value', () => {
    const { config } = expectConfig(
      'reuse_port: false\nlisteners:\n  - address: "127.0.0.1:9000"\n  - address: "127.0.0.1:9001"\n    reuse_port: true\n',
    );
    assert.deepEqual(config.listeners, [
      { protocol: 'socketmap', address: { kind: 'tcp', host: '127.0.0.1', port: 9000 }, reusePort: false, origin: 'listeners[0]' },
      { protocol: 'socketmap', address: { kind: 'tcp', host: '127.0.0.1', port: 9001 }, reusePort: true, origin: 'listeners[1]' },
    ]);
  });

  it('accepts tcp_table and exim listeners, with the zone they serve', () => {
    const { config, warnings } = expectConfig(
      'zones:\n  strict: {}\nlisteners:\n  - protocol: tcp_table\n    address: "127.0.0.1:8462"\n    zone: strict\n  - protocol: exim\n    address: unix:/run/exim.sock\n',
    );
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.listeners, [
      {
        protocol: 'tcp_table',
        address: { kind: 'tcp', host: '127.0.0.1', port: 8462 },
        reusePort: true,
        origin: 'listeners[0]',
        zone: 'strict',
      },
      { protocol: 'exim', address: { kind: 'unix', path: '/run/exim.sock' }, reusePort: false, origin: 'listeners[1]' },
    ]);
  });

  it('accepts a policy (delegation) listener', () => {
    const { config, warnings } = expectConfig('listeners:\n  - address: "127.0.0.1:9000"\n    protocol: policy\n');
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.listeners, [
      { protocol: 'policy', address: { kind: 'tcp', host: '127.0.0.1', port: 9000 }, reusePort: true, origin: 'listeners[0]' },
    ]);
  });

  it('suggests the nearest protocol name', () => {
    expectProblems('listeners:\n  - address: "127.0.0.1:9000"\n    protocol: tcp-table\n', [
      { code: 'ECONFIG_BAD_VALUE', path: 'listeners[0].protocol', line: 3, message: 'did you mean "tcp_table"?' },
    ]);
  });

  it('refuses mode on a TCP listener and reuse_port on a unix one', () => {
    expectProblems('listeners:\n  - address: "127.0.0.1:9000"\n    mode: 0660\n  - address: unix:/run/x.sock\n    reuse_port: true\n', [
      { code: 'ECONFIG_BAD_VALUE', path: 'listeners[0].mode', line: 3, message: 'only to unix sockets' },
      { code: 'ECONFIG_BAD_VALUE', path: 'listeners[1].reuse_port', line: 5, message: 'only to TCP' },
    ]);
  });

  it('checks a listener zone against zones, with a hint', () => {
    expectProblems('zones:\n  strict: {strict_testing: true}\nlisteners:\n  - address: "127.0.0.1:9000"\n    zone: strikt\n', [
      { code: 'ECONFIG_UNKNOWN_ZONE', path: 'listeners[0].zone', line: 5, message: 'did you mean "strict"?' },
    ]);
  });

  it('keeps a known zone, warning that socketmap requests name their own', () => {
    const { config, warnings } = expectConfig('zones:\n  strict: {}\nlisteners:\n  - address: "127.0.0.1:9000"\n    zone: strict\n');
    assert.equal(config.listeners[0]?.zone, 'strict');
    assert.deepEqual(
      warnings.map((w) => [w.code, w.path, w.line]),
      [['ECONFIG_IGNORED', 'listeners[0].zone', 5]],
    );
  });
});

describe('host/port/path shorthand and listeners combined', () => {
  const tcp = (host: string, port: number) => ({ kind: 'tcp', host, port });
  const cases: readonly { name: string; yaml: string; want: readonly unknown[]; warnings?: readonly [string, number][] }[] = [
    { name: 'nothing: the default listener', yaml: 'shutdown_timeout: 5\n', want: [tcp('127.0.0.1', 8461)] },
    { name: 'host only', yaml: 'host: 0.0.0.0\n', want: [tcp('0.0.0.0', 8461)] },
    { name: 'port only', yaml: 'port: 9999\n', want: [tcp('127.0.0.1', 9999)] },
    { name: 'IPv6 host without brackets', yaml: 'host: "::1"\nport: 8461\n', want: [tcp('::1', 8461)] },
    { name: 'path only: a unix socket, no TCP', yaml: 'path: /run/x.sock\n', want: [{ kind: 'unix', path: '/run/x.sock' }] },
    {
      name: 'path wins over host/port, which are ignored with warnings (Python behaviour)',
      yaml: 'host: 127.0.0.1\nport: 8461\npath: /run/x.sock\n',
      want: [{ kind: 'unix', path: '/run/x.sock' }],
      warnings: [
        ['host', 1],
        ['port', 2],
      ],
    },
    { name: 'a null path means no path (Python: cfg.get("path") is None)', yaml: 'path:\nport: 1234\n', want: [tcp('127.0.0.1', 1234)] },
    {
      name: 'a relative path is accepted as the Python tool does',
      yaml: 'path: mta-sts.sock\n',
      want: [{ kind: 'unix', path: 'mta-sts.sock' }],
    },
    { name: 'mode without path is ignored with a warning', yaml: 'mode: 0666\n', want: [tcp('127.0.0.1', 8461)], warnings: [['mode', 1]] },
    {
      name: 'only listeners: exactly those',
      yaml: 'listeners:\n  - address: "[::1]:8461"\n  - address: unix:/run/x.sock\n',
      want: [tcp('::1', 8461), { kind: 'unix', path: '/run/x.sock' }],
    },
    {
      name: 'only listeners, one of them the default address: no duplicate',
      yaml: 'listeners:\n  - address: "127.0.0.1:8461"\n',
      want: [tcp('127.0.0.1', 8461)],
    },
    {
      name: 'host/port and listeners: both apply, shorthand first',
      yaml: 'port: 8461\nlisteners:\n  - address: "[::1]:8461"\n',
      want: [tcp('127.0.0.1', 8461), tcp('::1', 8461)],
    },
    {
      name: 'path and listeners: both apply',
      yaml: 'path: /run/a.sock\nlisteners:\n  - address: "127.0.0.1:8461"\n',
      want: [{ kind: 'unix', path: '/run/a.sock' }, tcp('127.0.0.1', 8461)],
    },
    { name: 'an empty listeners list next to port', yaml: 'port: 1\nlisteners: []\n', want: [tcp('127.0.0.1', 1)] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { config, warnings } = expectConfig(c.yaml);
      assert.deepEqual(
        config.listeners.map((l) => l.address),
        c.want,
      );
      for (const l of config.listeners) assert.equal(l.protocol, 'socketmap');
      assert.deepEqual(
        warnings.map((w) => [w.path, w.line]),
        c.warnings ?? [],
      );
      for (const w of warnings) assert.equal(w.code, 'ECONFIG_IGNORED');
    });
  }

  it('names where each listener came from', () => {
    const { config } = expectConfig('port: 1\nlisteners:\n  - address: "127.0.0.1:2"\n');
    assert.deepEqual(
      config.listeners.map((l) => l.origin),
      ['host/port', 'listeners[0]'],
    );
    assert.equal(expectConfig('path: /x.sock\n').config.listeners[0]?.origin, 'path');
  });

  it('an empty listeners list alone opens nothing: refused', () => {
    expectProblems('listeners: []\n', [{ code: 'ECONFIG_NO_LISTENER', path: 'listeners', line: 1 }]);
  });

  it('the same address twice is an error, at the second one', () => {
    expectProblems('port: 8461\nlisteners:\n  - address: "127.0.0.1:8461"\n', [
      { code: 'ECONFIG_DUPLICATE_LISTENER', path: 'listeners[0].address', line: 3, message: 'already opened by host/port' },
    ]);
    expectProblems('listeners:\n  - address: "[::1]:1"\n  - address: "[::1]:2"\n  - address: "inet:[::1]:1"\n', [
      { code: 'ECONFIG_DUPLICATE_LISTENER', path: 'listeners[2].address', line: 4, message: 'already opened by listeners[0]' },
    ]);
    expectProblems('path: /run/x.sock\nlisteners:\n  - address: unix:/run//x.sock\n', [
      { code: 'ECONFIG_DUPLICATE_LISTENER', path: 'listeners[0].address', line: 3, message: 'already opened by path' },
    ]);
  });
});

describe('unix socket modes (octal)', () => {
  // What the Python tool's users write (YAML 1.1 `0666`), YAML 1.2 `0o666`, and the rest.
  const good: readonly [string, number][] = [
    ['0666', 0o666],
    ['0660', 0o660],
    ['0600', 0o600],
    ['0777', 0o777],
    ['0o666', 0o666],
    ['0o0660', 0o660],
    ['438', 0o666],
    ['0x1b6', 0o666],
    ['0', 0],
    ['00', 0],
    ['"0666"', 0o666],
    ["'666'", 0o666],
    ['"0o600"', 0o600],
  ];
  const bad: readonly [string, string, string | RegExp][] = [
    ['666', 'ECONFIG_RANGE', 'did you mean 0666?'],
    ['0888', 'ECONFIG_BAD_VALUE', 'not an octal file mode'],
    ['01777', 'ECONFIG_RANGE', 'between 0 and 0777'],
    ['0o1000', 'ECONFIG_RANGE', 'between 0 and 0777'],
    ['-1', 'ECONFIG_RANGE', 'between 0 and 0777'],
    ['"rw-rw-rw-"', 'ECONFIG_BAD_VALUE', 'not an octal file mode'],
    ['"0999"', 'ECONFIG_BAD_VALUE', 'not an octal file mode'],
    ['true', 'ECONFIG_TYPE', 'found true'],
    ['6.5', 'ECONFIG_TYPE', 'octal file mode'],
    ['[6, 6, 6]', 'ECONFIG_TYPE', 'found a list'],
  ];

  for (const [text, mode] of good) {
    it(`top-level mode: ${text} → 0o${mode.toString(8)}`, () => {
      const { config, warnings } = expectConfig(`path: /run/x.sock\nmode: ${text}\n`);
      assert.equal(config.listeners[0]?.mode, mode);
      assert.deepEqual(warnings, []);
    });
    it(`listeners[].mode: ${text} → 0o${mode.toString(8)}`, () => {
      const { config } = expectConfig(`listeners:\n  - address: unix:/run/x.sock\n    mode: ${text}\n`);
      assert.equal(config.listeners[0]?.mode, mode);
    });
  }
  for (const [text, code, message] of bad) {
    it(`top-level mode: ${text} → ${code}`, () => {
      expectProblems(`path: /run/x.sock\nmode: ${text}\n`, [{ code: code as 'ECONFIG_RANGE', path: 'mode', line: 2, message }]);
    });
    it(`listeners[].mode: ${text} → ${code}`, () => {
      expectProblems(`listeners:\n  - address: unix:/run/x.sock\n    mode: ${text}\n`, [
        { code: code as 'ECONFIG_RANGE', path: 'listeners[0].mode', line: 3, message },
      ]);
    });
  }

  it('no mode: the umask decides (no mode property)', () => {
    const { config } = expectConfig('path: /run/x.sock\n');
    assert.equal(Object.hasOwn(config.listeners[0] ?? {}, 'mode'), false);
  });
});

describe('listeners: YAML details', () => {
  it('follows aliases and merge keys in listener entries', () => {
    const { config } = expectConfig(
      'listeners:\n  - &a {address: "127.0.0.1:9000", reuse_port: false}\n  - {<<: *a, address: "127.0.0.1:9001"}\n',
    );
    assert.deepEqual(
      config.listeners.map((l) => [l.address, l.reusePort]),
      [
        [{ kind: 'tcp', host: '127.0.0.1', port: 9000 }, false],
        [{ kind: 'tcp', host: '127.0.0.1', port: 9001 }, false],
      ],
    );
    expectProblems('listeners:\n  - &a {address: "127.0.0.1:9000"}\n  - *a\n', [
      { code: 'ECONFIG_DUPLICATE_LISTENER', path: 'listeners[1].address', line: 2 },
    ]);
  });

  it('refuses an empty entry', () => {
    expectProblems('listeners:\n  - address: "127.0.0.1:9000"\n  -\n', [{ code: 'ECONFIG_TYPE', path: 'listeners[1]', line: 3 }]);
  });
});
