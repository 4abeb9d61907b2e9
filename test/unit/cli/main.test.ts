import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { main } from '../../../src/cli/main.js';
import { captureIo } from './capture.js';

const version = (JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('main', () => {
  for (const argv of [['help'], ['--help'], ['-h']]) {
    it(`${argv.join(' ')} prints the usage on stdout, exit 0`, async () => {
      const io = captureIo();
      assert.equal(await main(argv, io), 0);
      assert.match(io.stdout(), /^Usage: mta-sts-bridge <command>/);
      for (const cmd of ['serve', 'query', 'check-config']) assert.ok(io.stdout().includes(cmd));
      assert.equal(io.stderr(), '');
    });
  }

  it('--version prints the package version', async () => {
    const io = captureIo();
    assert.equal(await main(['--version'], io), 0);
    assert.equal(io.stdout(), `mta-sts-bridge ${version}\n`);
  });

  const usageErrors: Array<[string[], RegExp]> = [
    [[], /missing command/],
    [['frobnicate'], /unknown command "frobnicate" \[EUSAGE\]/],
    [['--frobnicate'], /unknown option --frobnicate \[EUSAGE\]/],
    [['serve', '--bogus'], /unknown option --bogus \[EUSAGE\]/],
    [['serve', 'extra'], /unexpected argument "extra" \[EUSAGE\]/],
    [['serve', '-v', 'loud'], /log level must be one of error, warn, info, debug, not "loud" \[EUSAGE\]/],
    [['query'], /query needs a DOMAIN \[EUSAGE\]/],
    [['query', 'a.example', 'b.example'], /unexpected argument "b\.example" \[EUSAGE\]/],
    [['query', 'example.com', '--zone'], /option --zone needs a value \[EUSAGE\]/],
    [['query', 'example.com', '--zone', 'nope'], /unknown zone "nope" \(the config defines no zones\) \[EUSAGE\]/],
    [['check-config', 'file.yml'], /unexpected argument "file\.yml" \(use -c FILE\) \[EUSAGE\]/],
  ];
  for (const [argv, message] of usageErrors) {
    it(`${JSON.stringify(argv)} is a usage error on stderr, exit 2`, async () => {
      const io = captureIo();
      assert.equal(await main(argv, io), 2);
      assert.match(io.stderr(), message);
      assert.equal(io.stdout(), '');
      // One line and a hint naming the command's --help, never the whole usage.
      const lines = io.stderr().split('\n');
      assert.equal(lines.length, 3, io.stderr());
      assert.equal(lines[2], '');
      const cmd = argv[0] !== undefined && !argv[0].startsWith('-') && argv[0] !== 'frobnicate' ? `${argv[0]} ` : '';
      assert.equal(lines[1], `try 'mta-sts-bridge ${cmd}--help'`);
    });
  }

  it('query rejects an IP literal before any lookup, exit 2', async () => {
    const io = captureIo();
    assert.equal(await main(['query', '192.0.2.1'], io), 2);
    assert.match(io.stderr(), /\[EDOMAIN_IP_LITERAL\]/);
  });

  it('serve with an unreadable config prints the problem, exit 2', async () => {
    const io = captureIo();
    assert.equal(await main(['serve', '-c', '/nonexistent/mta-sts-bridge.yml'], io), 2);
    assert.match(io.stderr(), /^\/nonexistent\/mta-sts-bridge\.yml: cannot read the configuration: .* \[ECONFIG_READ\]\n$/);
  });

  for (const cmd of ['serve', 'query', 'check-config']) {
    it(`${cmd} --help prints its usage line, exit 0`, async () => {
      const io = captureIo();
      assert.equal(await main([cmd, '--help'], io), 0);
      assert.match(io.stdout(), new RegExp(`^Usage: mta-sts-bridge ${cmd}`));
    });
  }

  it('-V prints the version like --version', async () => {
    const io = captureIo();
    assert.equal(await main(['-V'], io), 0);
    assert.equal(io.stdout(), `mta-sts-bridge ${version}\n`);
  });

  // Every option each command's parser accepts, and whether it takes a value. The help must
  // list each one (with its default when it takes a value), and every option the help lists
  // must be accepted by the parser.
  const OPTIONS: Record<string, Array<[string, string | undefined, boolean]>> = {
    serve: [['config', 'c', true], ['log-level', 'v', true], ['help', 'h', false]],
    query: [['config', 'c', true], ['zone', undefined, true], ['json', undefined, false], ['help', 'h', false]],
    'check-config': [['config', 'c', true], ['help', 'h', false]],
    cache: [['config', 'c', true], ['json', undefined, false], ['help', 'h', false]],
    generate: [
      ['config', 'c', true], ['domains', undefined, true], ['output', 'o', true], ['type', undefined, true],
      ['format', undefined, true], ['zone', undefined, true], ['state', undefined, true], ['dry-run', undefined, false],
      ['concurrency', undefined, true], ['from-cache', undefined, false], ['offline', undefined, false],
      ['log-level', 'v', true], ['help', 'h', false],
    ],
  };
  for (const [cmd, options] of Object.entries(OPTIONS)) {
    it(`${cmd} --help and help ${cmd} print the same text, listing every option with its default`, async () => {
      const io = captureIo();
      assert.equal(await main([cmd, '--help'], io), 0);
      const text = io.stdout();
      assert.match(text, new RegExp(`^Usage: mta-sts-bridge ${cmd}`));
      assert.match(text, /\nOptions:\n/);
      const viaHelp = captureIo();
      assert.equal(await main(['help', cmd], viaHelp), 0);
      assert.equal(viaHelp.stdout(), text);
      const optionLines = text.slice(text.indexOf('\nOptions:\n')).split('\n');
      for (const [name, short, value] of options) {
        const start = optionLines.findIndex((l) => new RegExp(`^  ${short !== undefined ? `-${short}, ` : '    '}--${name}\\b`).test(l));
        assert.ok(start >= 0, `${cmd} --help lacks --${name}`);
        if (value && name !== 'output' && name !== 'domains') {
          // The description (possibly continued on indented lines) names the default.
          let desc = optionLines[start] as string;
          for (let i = start + 1; i < optionLines.length && /^ {10,}/.test(optionLines[i] as string); i++) desc += optionLines[i];
          assert.match(desc, /default/, `${cmd} --help: --${name} has no default`);
        }
      }
      const listed = [...text.matchAll(/^ {2}(?:-\w, | {4})--([a-z-]+)/gm)].map((m) => m[1] as string);
      assert.deepEqual([...listed].sort(), options.map(([n]) => n).sort(), `${cmd} --help lists exactly the parser's options`);
    });

    it(`${cmd}: every option its help lists is accepted by the parser`, async () => {
      for (const [name, , value] of options) {
        if (name === 'help') continue;
        const io = captureIo();
        await main([cmd, value ? `--${name}=x` : `--${name}`, '--bogus-option-to-stop-early'], io);
        assert.doesNotMatch(io.stderr(), new RegExp(`unknown option --${name}\\b`));
        assert.match(io.stderr(), /unknown option --bogus-option-to-stop-early/);
      }
    });
  }

  it('help with an unknown topic is a usage error naming the topics', async () => {
    const io = captureIo();
    assert.equal(await main(['help', 'frobnicate'], io), 2);
    assert.match(io.stderr(), /no help topic "frobnicate" \(topics: serve, query, check-config, generate, cache\) \[EUSAGE\]\ntry 'mta-sts-bridge --help'\n$/);
  });

  it('the main help mentions every command, -V and the man pages', async () => {
    const io = captureIo();
    assert.equal(await main(['help'], io), 0);
    for (const cmd of Object.keys(OPTIONS)) assert.match(io.stdout(), new RegExp(`^  ${cmd}\\b`, 'm'));
    assert.match(io.stdout(), /-V, --version/);
    assert.match(io.stdout(), /man 8 mta-sts-bridge/);
  });
});
