/**
 * The report for people (a terminal, colour only when asked: on a TTY) and as JSON. Pure and
 * deterministic: the same report gives the same bytes.
 */
import type { CheckLevel, CheckReport, CheckResult, DomainReport, DomainResult } from './types.js';

/** The JSON form documented in docs/check.md, newline-terminated. */
export function formatJson(report: CheckReport): string {
  return `${JSON.stringify({ domains: report.domains }, null, 2)}\n`;
}

const SGR = { red: '\x1b[31m', yellow: '\x1b[33m', green: '\x1b[32m', bold: '\x1b[1m', dim: '\x1b[2m', reset: '\x1b[0m' } as const;

function paint(colour: boolean, code: string, text: string): string {
  return colour ? `${code}${text}${SGR.reset}` : text;
}

function mark(level: CheckLevel, colour: boolean): string {
  switch (level) {
    case 'error':
      return paint(colour, SGR.red, 'FAIL');
    case 'warning':
      return paint(colour, SGR.yellow, 'WARN');
    case 'info':
      return paint(colour, SGR.green, ' ok ');
    default: {
      const _never: never = level;
      return _never;
    }
  }
}

function resultWord(r: DomainResult, colour: boolean): string {
  switch (r) {
    case 'pass':
      return paint(colour, SGR.green, 'PASS');
    case 'warn':
      return paint(colour, SGR.yellow, 'WARN');
    case 'fail':
      return paint(colour, SGR.red, 'FAIL');
    case 'error':
      return paint(colour, SGR.red, 'ERROR');
    default: {
      const _never: never = r;
      return _never;
    }
  }
}

function counts(checks: readonly CheckResult[]): string {
  const n = (level: CheckLevel): number => checks.filter((c) => c.level === level).length;
  return `${n('error')} failed, ${n('warning')} warning(s), ${n('info')} passed`;
}

/** Control characters from the network never reach the terminal as such. */
function printable(text: string): string {
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function formatDomain(d: DomainReport, colour: boolean): string[] {
  const lines = [`${paint(colour, SGR.bold, d.domain)}: ${resultWord(d.result, colour)} (${counts(d.checks)})`];
  if (d.error !== undefined)
    lines.push(`  ${paint(colour, SGR.red, 'ERROR')} ${d.error.code}: ${printable(d.error.message.split('\n')[0] ?? '')}`);
  for (const c of d.checks) {
    const subject = c.subject !== undefined ? ` ${paint(colour, SGR.dim, `[${c.subject}]`)}` : '';
    lines.push(`  ${mark(c.level, colour)} ${c.id}${subject}: ${printable(c.message)}`);
  }
  return lines;
}

/** The terminal report: one block per domain, then a summary line. */
export function formatText(report: CheckReport, colour: boolean): string {
  const blocks = report.domains.map((d) => formatDomain(d, colour).join('\n'));
  const by = (r: DomainResult): number => report.domains.filter((d) => d.result === r).length;
  const summary = `${report.domains.length} domain(s): ${by('pass')} pass, ${by('warn')} warn, ${by('fail')} fail, ${by('error')} error`;
  return `${[...blocks, summary].join('\n\n')}\n`;
}
