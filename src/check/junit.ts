/**
 * JUnit XML for CI and monitoring, written with fast-xml-parser's builder: `testsuites` >
 * one `testsuite` per domain > one `testcase` per result. An error is a `failure`, a warning is
 * `skipped` (CI shows it without failing the build), a pass is an empty test case; a domain
 * whose check could not run gets a test case `check` with an `error`. The evidence is the
 * element's text, as JSON. docs/check-junit.xsd is the structure; a test validates against it.
 */
import { XMLBuilder } from 'fast-xml-parser';
import type { CheckReport, CheckResult, DomainReport } from './types.js';

/** The `name` of the root element. */
export const JUNIT_SUITES_NAME = 'mta-sts-bridge check';

/** Characters XML 1.0 cannot carry at all, even escaped: replaced by U+FFFD. */
const NOT_XML = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function xmlSafe(text: string): string {
  return text.replace(NOT_XML, '\ufffd');
}

/** The test case name: the check id, then its subject (`mx-cert mx1.example.com 192.0.2.1`). */
export function testcaseName(c: CheckResult): string {
  return c.subject === undefined ? c.id : `${c.id} ${c.subject}`;
}

function testcase(domain: string, c: CheckResult): Record<string, unknown> {
  const base = { '@_name': xmlSafe(testcaseName(c)), '@_classname': xmlSafe(`${domain}.${c.id}`) };
  const body = { '@_message': xmlSafe(c.message), '#text': xmlSafe(JSON.stringify(c.evidence, null, 2)) };
  switch (c.level) {
    case 'error':
      return { ...base, failure: { ...body, '@_type': c.id } };
    case 'warning':
      return { ...base, skipped: body };
    case 'info':
      return { ...base, 'system-out': xmlSafe(c.message) };
    default: {
      const _never: never = c.level;
      return _never;
    }
  }
}

interface Counts {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
}

function suite(d: DomainReport): { xml: Record<string, unknown>; counts: Counts } {
  const cases = d.checks.map((c) => testcase(d.domain, c));
  if (d.error !== undefined) {
    cases.unshift({
      '@_name': 'check',
      '@_classname': xmlSafe(`${d.domain}.check`),
      error: {
        '@_message': xmlSafe(`${d.error.code}: ${d.error.message.split('\n')[0] ?? ''}`),
        '@_type': d.error.code,
        '#text': xmlSafe(d.error.message),
      },
    });
  }
  const counts: Counts = {
    tests: cases.length,
    failures: d.checks.filter((c) => c.level === 'error').length,
    errors: d.error !== undefined ? 1 : 0,
    skipped: d.checks.filter((c) => c.level === 'warning').length,
  };
  const xml = {
    '@_name': xmlSafe(d.domain),
    '@_tests': counts.tests,
    '@_failures': counts.failures,
    '@_errors': counts.errors,
    '@_skipped': counts.skipped,
    properties: { property: [{ '@_name': 'result', '@_value': d.result }] },
    testcase: cases,
  };
  return { xml, counts };
}

/** The whole JUnit document, newline-terminated. */
export function formatJunit(report: CheckReport): string {
  const suites = report.domains.map(suite);
  const total = (k: keyof Counts): number => suites.reduce((n, s) => n + s.counts[k], 0);
  const doc = {
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    testsuites: {
      '@_name': JUNIT_SUITES_NAME,
      '@_tests': total('tests'),
      '@_failures': total('failures'),
      '@_errors': total('errors'),
      '@_skipped': total('skipped'),
      testsuite: suites.map((s) => s.xml),
    },
  };
  const builder = new XMLBuilder({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    format: true,
    suppressBooleanAttributes: false,
    suppressEmptyNode: true,
  });
  const xml = builder.build(doc);
  return xml.endsWith('\n') ? xml : `${xml}\n`;
}
