/**
 * Every subcommand's options, declared once: the parser takes its option list from here
 * (`optionSpecs`), `--help` and `help TOPIC` print it (`commandHelp`), and a test checks that
 * the man page mta-sts-bridge(8) names each of them.
 */
import type { OptionSpec } from './args.js';
import { PROGRAM } from './io.js';

export const COMMAND_NAMES = ['serve', 'query', 'check-config', 'check', 'generate', 'cache'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

export interface OptionHelp {
  /** Long name without dashes. */
  readonly name: string;
  readonly short?: string;
  /** The value's placeholder (`FILE`); absent for a flag. */
  readonly arg?: string;
  /** The default, as people read it; absent when there is none worth saying. */
  readonly default?: string;
  readonly text: string;
}

export interface CommandHelp {
  readonly synopsis: string;
  readonly summary: string;
  readonly options: readonly OptionHelp[];
  /** Paragraphs after the options: exit statuses, signals. */
  readonly notes: readonly string[];
}

const CONFIG: OptionHelp = { name: 'config', short: 'c', arg: 'FILE', default: 'the embedded defaults', text: 'configuration file (YAML)' };
const HELP: OptionHelp = { name: 'help', short: 'h', text: 'show this help' };
const LOG_LEVEL: OptionHelp = {
  name: 'log-level',
  short: 'v',
  arg: 'LEVEL',
  default: 'logging.level, else info',
  text: 'error, warn, info or debug',
};

export const COMMANDS: Readonly<Record<CommandName, CommandHelp>> = {
  serve: {
    synopsis: 'serve [-c FILE] [-v LEVEL] [--log-format text|json]',
    summary: 'Run the daemon: answer Postfix, Sendmail and Exim lookups on the configured listeners.',
    options: [
      CONFIG,
      LOG_LEVEL,
      {
        name: 'log-format',
        arg: 'FORMAT',
        default: 'logging.format, else text',
        text: 'text or json; under journald, text lines carry syslog priorities',
      },
      HELP,
    ],
    notes: [
      'Signals: SIGHUP re-reads the configuration and applies what can change at run time; SIGTERM or SIGINT stops gracefully (a second one exits at once).',
      'Exit status: 0 stopped by a signal; 1 could not start (listener, cache, privileges); 2 usage or configuration error.',
    ],
  },
  query: {
    synopsis: 'query DOMAIN [-c FILE] [--zone NAME] [--json]',
    summary: 'Resolve one domain now, without any cache, and show every step and the answer Postfix would get.',
    options: [
      CONFIG,
      { name: 'zone', arg: 'NAME', default: 'the default zone', text: 'zone whose settings apply' },
      { name: 'json', text: 'print JSON' },
      HELP,
    ],
    notes: ['Exit status: 0 a policy was found (any mode); 1 no policy; 2 an error.'],
  },
  'check-config': {
    synopsis: 'check-config [-c FILE]',
    summary: 'Validate a configuration and check what serve would refuse at start, without binding or creating anything.',
    options: [CONFIG, HELP],
    notes: ['Exit status: 0 valid (a summary is printed); 2 every problem is listed as FILE:LINE:COL: path: message [CODE].'],
  },
  check: {
    synopsis: 'check DOMAIN... [--json | --junit FILE] [--strict] [--state FILE] [--mx-port N] [--timeout S] [--resolver IP[:PORT]]',
    summary:
      "Validate a domain owner's MTA-STS, TLSRPT and DANE setup as senders see it: TXT records, policy host and file, every MX host's STARTTLS and certificate, the sender's view (docs/check.md).",
    options: [
      { name: 'json', text: 'print the report as JSON' },
      { name: 'junit', arg: 'FILE', text: 'also write JUnit XML to FILE (- : to standard output instead of the report)' },
      { name: 'strict', text: 'warnings fail too (exit 1)' },
      {
        name: 'state',
        arg: 'FILE',
        text: "a previous run's state (created if missing, then updated): a policy changed under the same TXT id is an error",
      },
      { name: 'mx-port', arg: 'N', default: '25', text: 'SMTP port of the MX hosts' },
      {
        name: 'timeout',
        arg: 'S',
        default: '60',
        text: 'the whole run, in seconds; one MX or policy host conversation gets at most a third of it (20 s at most)',
      },
      {
        name: 'resolver',
        arg: 'IP[:PORT]',
        default: 'the first nameserver of /etc/resolv.conf',
        text: 'the resolver every question goes to, as dns.resolver in the config ("IP", "IP:PORT", "[IPV6]:PORT"); it must validate DNSSEC for dane-tlsa to see the AD bit',
      },
      HELP,
    ],
    notes: [
      'Exit status: 0 every check passed (warnings allowed); 1 a check failed, or a warning with --strict; 2 the check could not run (usage, DNS of this host, --timeout reached).',
    ],
  },
  generate: {
    synopsis: 'generate [-c FILE] (--domains FILE|- | --from-cache | --offline) --output PATH [options]',
    summary: 'Resolve a list of domains and write a static TLS policy map atomically (Postfix via postmap, Exim lsearch, JSON), for cron.',
    options: [
      CONFIG,
      { name: 'domains', arg: 'FILE', text: 'domains to resolve, one per line, # comments (- reads standard input)' },
      { name: 'output', short: 'o', arg: 'PATH', text: 'the map to write (required)' },
      { name: 'type', arg: 'TYPE', default: 'lmdb', text: 'postmap type for the postfix formats: lmdb, cdb, hash, btree or texthash' },
      { name: 'format', arg: 'FORMAT', default: 'postfix', text: 'postfix, postfix-tlsrpt, exim-lsearch or json' },
      { name: 'zone', arg: 'NAME', default: 'the default zone', text: 'zone whose settings apply' },
      { name: 'state', arg: 'FILE', default: 'OUTPUT.state.sqlite', text: "the generator's state (last known good policies)" },
      { name: 'dry-run', text: 'resolve and report, write nothing' },
      { name: 'concurrency', arg: 'N', default: '32', text: 'domains resolved at the same time (1 to 1024)' },
      { name: 'from-cache', text: "also every domain in the daemon's persistent cache" },
      { name: 'offline', text: "no DNS or HTTPS: rebuild from the generator's state alone" },
      LOG_LEVEL,
      HELP,
    ],
    notes: ['Exit status: 0 done; 1 done, some domains failed (listed); 2 nothing written.'],
  },
  cache: {
    synopsis: 'cache list|show DOMAIN|evict DOMAIN [-c FILE] [--json]',
    summary: 'Look into the configured persistent cache (sqlite, redis or postgres): list its policies, show one, or evict one.',
    options: [CONFIG, { name: 'json', text: 'print JSON' }, HELP],
    notes: ['Exit status: 0 done; 1 show or evict of a domain that is not cached; 2 an error (a memory cache included).'],
  },
};

/** The parser's view of a command's options. */
export function optionSpecs(command: CommandName): OptionSpec[] {
  return COMMANDS[command].options.map((o) => ({
    name: o.name,
    ...(o.short !== undefined ? { short: o.short } : {}),
    value: o.arg !== undefined,
  }));
}

/** `-c, --config FILE` */
export function optionLabel(o: OptionHelp): string {
  const long = `--${o.name}${o.arg !== undefined ? ` ${o.arg}` : ''}`;
  return o.short !== undefined ? `-${o.short}, ${long}` : `    ${long}`;
}

/** The whole help of one command, ending with a newline. */
export function commandHelp(command: CommandName): string {
  const c = COMMANDS[command];
  const width = Math.max(...c.options.map((o) => optionLabel(o).length));
  const lines = [`Usage: ${PROGRAM} ${c.synopsis}`, '', c.summary, '', 'Options:'];
  for (const o of c.options) {
    lines.push(`  ${optionLabel(o).padEnd(width)}  ${o.text}${o.default !== undefined ? ` (default: ${o.default})` : ''}`);
  }
  lines.push('', ...c.notes);
  return `${lines.join('\n')}\n`;
}

/** The overview `help` prints. */
export function mainHelp(): string {
  const lines = [`Usage: ${PROGRAM} <command> [options]`, '', 'Commands:'];
  for (const name of COMMAND_NAMES) lines.push(`  ${COMMANDS[name].synopsis}`, `      ${COMMANDS[name].summary}`);
  lines.push(
    '  help [COMMAND]',
    "      This overview, or one command's options with their defaults.",
    '',
    'Options:',
    '  -h, --help     show this help',
    '  -V, --version  print the version',
    '',
    `Run "${PROGRAM} COMMAND --help" for a command's options, "man 8 ${PROGRAM}" and "man 5 ${PROGRAM}.yml" for the manual.`,
  );
  return `${lines.join('\n')}\n`;
}

export function isCommandName(name: string): name is CommandName {
  return (COMMAND_NAMES as readonly string[]).includes(name);
}
