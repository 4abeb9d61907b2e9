/**
 * A throw-away Postfix instance inside the fake internet's namespace (TEST-WORLD-NOTES.md
 * "Postfix as the client"): its own config, queue and data directories in a temp dir, its log
 * in a file through the postlog service, and one smtpd on a chosen loopback address. The test
 * then speaks SMTP to it with smtp-client.js, run inside the namespace too.
 */
import { existsSync, mkdirSync, readFileSync, chmodSync, chownSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { NetNs, RunResult } from './netns.js';
import { run } from './netns.js';

/** Debian's paths (postconf -d daemon_directory / command_directory). */
const POSTFIX_BIN = '/usr/sbin/postfix';
const SMTPD_BIN = '/usr/lib/postfix/sbin/smtpd';

/** Why a Postfix instance cannot run here, or undefined when it can. */
export async function postfixPrerequisiteProblem(): Promise<string | undefined> {
  for (const bin of [POSTFIX_BIN, SMTPD_BIN]) {
    if (!existsSync(bin))
      return `${bin} is missing: install the Debian package "postfix" (see docs/development.md, "Policy delegation with a real smtpd")`;
  }
  const user = await run('getent', ['passwd', 'postfix']);
  if (user.code !== 0) return 'the "postfix" user does not exist: install the Debian package "postfix"';
  const group = await run('getent', ['group', 'postdrop']);
  if (group.code !== 0) return 'the "postdrop" group does not exist: install the Debian package "postfix"';
  return undefined;
}

export interface PostfixOptions {
  /** Address smtpd listens on inside the namespace, e.g. 127.0.0.3. */
  readonly smtpdAddress: string;
  /** `smtpd_recipient_restrictions`, e.g. `check_policy_service inet:127.0.0.1:8462, permit`. */
  readonly recipientRestrictions: string;
  /** Extra main.cf lines. */
  readonly extraMain?: readonly string[];
  /** Extra master.cf lines (e.g. the smtp client, pickup and tlsmgr for delivery tests). */
  readonly extraMaster?: readonly string[];
}

/** Only the services an smtpd that accepts (and never delivers) mail needs; no chroot. */
function masterCf(smtpdAddress: string): string {
  return [
    `${smtpdAddress}:25 inet n - n - - smtpd`,
    'cleanup   unix  n - n - 0 cleanup',
    'qmgr      unix  n - n 300 1 qmgr',
    'rewrite   unix  - - n - - trivial-rewrite',
    'bounce    unix  - - n - 0 bounce',
    'defer     unix  - - n - 0 bounce',
    'trace     unix  - - n - 0 bounce',
    'verify    unix  - - n - 1 verify',
    'flush     unix  n - n 1000? 0 flush',
    'proxymap  unix  - - n - - proxymap',
    'showq     unix  n - n - - showq',
    'error     unix  - - n - - error',
    'retry     unix  - - n - - error',
    'discard   unix  - - n - - discard',
    'anvil     unix  - - n - 1 anvil',
    'scache    unix  - - n - 1 scache',
    // maillog_file needs the postlog service (no syslog in the namespace).
    'postlog   unix-dgram n - n - 1 postlogd',
    '',
  ].join('\n');
}

export class PostfixInstance {
  private constructor(
    private readonly ns: NetNs,
    readonly dir: string,
  ) {}

  get configDirectory(): string {
    return join(this.dir, 'etc');
  }

  get maillogPath(): string {
    return join(this.dir, 'maillog');
  }

  /**
   * Write the instance under `parent`/postfix and start it. `parent` must be traversable by
   * the postfix user (mode 0755 or so).
   */
  static async start(ns: NetNs, parent: string, options: PostfixOptions): Promise<PostfixInstance> {
    const dir = resolve(parent, 'postfix');
    mkdirSync(join(dir, 'etc'), { recursive: true });
    mkdirSync(join(dir, 'spool'), { recursive: true });
    mkdirSync(join(dir, 'data'), { recursive: true });
    for (const d of [parent, dir, join(dir, 'etc'), join(dir, 'spool')]) chmodSync(d, 0o755);
    const ids = await run('id', ['-u', 'postfix']);
    const gids = await run('id', ['-g', 'postfix']);
    chownSync(join(dir, 'data'), Number(ids.stdout.trim()), Number(gids.stdout.trim()));
    const main = [
      'compatibility_level = 3.6',
      `queue_directory = ${join(dir, 'spool')}`,
      `data_directory = ${join(dir, 'data')}`,
      'mail_owner = postfix',
      'setgid_group = postdrop',
      'myhostname = mx.local.test',
      'mydomain = local.test',
      'mydestination =',
      'inet_interfaces = loopback-only',
      'inet_protocols = ipv4',
      'mynetworks = 127.0.0.0/8',
      `maillog_file = ${join(dir, 'maillog')}`,
      `maillog_file_prefixes = ${dir}`,
      'alias_maps =',
      'alias_database =',
      // No PTR lookups of the test client: the fake DNS serves only the test zones.
      'smtpd_peername_lookup = no',
      'smtpd_relay_restrictions = permit_mynetworks, reject',
      `smtpd_recipient_restrictions = ${options.recipientRestrictions}`,
      ...(options.extraMain ?? []),
      '',
    ].join('\n');
    writeFileSync(join(dir, 'etc', 'main.cf'), main);
    writeFileSync(
      join(dir, 'etc', 'master.cf'),
      masterCf(options.smtpdAddress) + (options.extraMaster ?? []).map((l) => `${l}\n`).join(''),
    );
    const instance = new PostfixInstance(ns, dir);
    const started = await ns.run(POSTFIX_BIN, ['-c', instance.configDirectory, 'start'], { timeoutMs: 60_000 });
    if (started.code !== 0) {
      throw new Error(`postfix -c ${instance.configDirectory} start failed (${started.code}): ${started.stderr}${instance.maillog()}`);
    }
    await instance.waitForLog(/daemon started/, 15_000);
    return instance;
  }

  /** The instance's log so far ('' before it exists). */
  maillog(): string {
    return existsSync(this.maillogPath) ? readFileSync(this.maillogPath, 'utf8') : '';
  }

  /** Poll the log until `pattern` appears. */
  async waitForLog(pattern: RegExp, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!pattern.test(this.maillog())) {
      if (Date.now() > until) throw new Error(`Postfix log never showed ${pattern}:\n${this.maillog()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** `postfix stop`, then the master by its pid if it is still there. */
  async stop(): Promise<RunResult> {
    const stopped = await this.ns.run(POSTFIX_BIN, ['-c', this.configDirectory, 'stop'], { timeoutMs: 30_000 });
    const pidFile = join(this.dir, 'spool', 'pid', 'master.pid');
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 1) {
        const alive = (): boolean => {
          try {
            process.kill(pid, 0);
            return true;
          } catch {
            return false;
          }
        };
        const until = Date.now() + 5000;
        while (alive() && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
        if (alive()) process.kill(pid, 'SIGKILL');
      }
    }
    return stopped;
  }
}
