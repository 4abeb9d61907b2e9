/**
 * Is stderr connected to the systemd journal? systemd.exec(5), `$JOURNAL_STREAM`: "contains the
 * device and inode numbers of the file descriptor the standard error is connected to, formatted
 * as `<dev>:<ino>` ... only useful to check whether the stream is still connected to the
 * journal" (it is inherited by children whose stderr may be redirected elsewhere). Pure: the
 * variable and fd 2's fstat are passed in.
 */
import { fstatSync } from 'node:fs';

/** What fstat says about fd 2 (numbers, or bigints from `fstatSync(2, {bigint: true})`). */
export interface StreamIdentity {
  readonly dev: number | bigint;
  readonly ino: number | bigint;
}

/** True when `journalStream` (`$JOURNAL_STREAM`) names exactly the device and inode of `stderr`. */
export function isJournalStream(journalStream: string | undefined, stderr: StreamIdentity | undefined): boolean {
  if (journalStream === undefined || stderr === undefined) return false;
  const m = /^([0-9]{1,20}):([0-9]{1,20})$/.exec(journalStream.trim());
  if (m === null) return false;
  return BigInt(m[1] as string) === BigInt(stderr.dev) && BigInt(m[2] as string) === BigInt(stderr.ino);
}

/** The running process's answer: `$JOURNAL_STREAM` against fd 2. False when fd 2 cannot be inspected. */
export function stderrIsJournal(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  const value = env['JOURNAL_STREAM'];
  if (value === undefined) return false;
  try {
    return isJournalStream(value, fstatSync(2, { bigint: true }));
  } catch {
    return false;
  }
}

/** sd-daemon(3) priority prefixes (syslog levels) for our log levels. */
export const JOURNAL_PRIORITY: Readonly<Record<string, number>> = { error: 3, warn: 4, info: 6, debug: 7 };

/** `<N>` for `level`; an unknown level is logged as info (6). */
export function priorityPrefix(level: unknown): string {
  const n = typeof level === 'string' ? JOURNAL_PRIORITY[level] : undefined;
  return `<${n ?? 6}>`;
}
