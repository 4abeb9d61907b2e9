import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { main } from '../../../main/cli/main.js';
import { COMMAND_NAMES, COMMANDS, optionLabel } from '../../../main/cli/help.js';
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

  for (const flag of ['--version', '-V']) {
    it(`${flag} prints the package version`, async () => {
      const io = captureIo();
      assert.equal(await main([flag], io), 0);
      assert.equal(io.stdout(), `mta-sts-bridge ${version}\n`);
    });
  }

  const usageErrors: Array<[string[], RegExp]> = [
    [[], /a command is needed/],
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
      // One line saying what is wrong, one line pointing at the right help; no usage dump.
      const lines = io.stderr().trimEnd().split('\n');
      assert.equal(lines.length, 2, io.stderr());
      const command = argv[0] !== undefined && (COMMAND_NAMES as readonly string[]).includes(argv[0]) ? ` ${argv[0]}` : '';
      assert.equal(lines[1], `Try "mta-sts-bridge${command} --help".`);
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

  for (const cmd of COMMAND_NAMES) {
    it(`${cmd} --help and help ${cmd} print the same help with every option the parser accepts, exit 0`, async () => {
      const io = captureIo();
      assert.equal(await main([cmd, '--help'], io), 0);
      const help = io.stdout();
      assert.match(help, new RegExp(`^Usage: mta-sts-bridge ${cmd}`));
      for (const o of COMMANDS[cmd].options) {
        assert.ok(help.includes(optionLabel(o).trim()), `${cmd} --help lacks ${optionLabel(o)}`);
        if (o.default !== undefined) assert.ok(help.includes(`(default: ${o.default})`), `${cmd} --help lacks the default of --${o.name}`);
      }
      const topic = captureIo();
      assert.equal(await main(['help', cmd], topic), 0);
      assert.equal(topic.stdout(), help);
      // Every option the help lists is one the command really takes: parsing it is no usage error.
      for (const o of COMMANDS[cmd].options.filter((x) => x.name !== 'help')) {
        const probe = captureIo();
        await main([cmd, `--${o.name}`, ...(o.arg !== undefined ? ['x'] : []), '--help'], probe);
        assert.doesNotMatch(probe.stderr(), /unknown option/, `${cmd} --${o.name}`);
      }
    });
  }

  it('help with an unknown topic is a usage error', async () => {
    const io = captureIo();
    assert.equal(await main(['help', 'frobnicate'], io), 2);
    assert.match(io.stderr(), /no help topic "frobnicate" \[EUSAGE\]/);
  });
});
