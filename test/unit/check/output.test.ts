/**
 * The three outputs: JUnit XML parsed back with fast-xml-parser AND validated by xmllint against
 * docs/check-junit.xsd, the documented JSON form, and the terminal text (colour only when asked).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { XMLParser } from 'fast-xml-parser';
import { formatJunit, JUNIT_SUITES_NAME, xmlSafe } from '../../../src/check/junit.js';
import { formatJson, formatText } from '../../../src/check/output.js';
import { CHECK_IDS, finding, pass, type CheckReport } from '../../../src/check/types.js';
import { xmllint } from './xmllint.js';

const SAMPLE: CheckReport = {
  domains: [
    {
      domain: 'good.example',
      result: 'warn',
      checks: [
        pass('sts-txt', 'one valid MTA-STS record, id 1', { record: 'v=STSv1; id=1' }),
        finding('tlsrpt-txt', 'warning', 'no TLSRPT record at _smtp._tls.good.example', { name: '_smtp._tls.good.example' }),
      ],
    },
    {
      domain: 'bad.example',
      result: 'fail',
      checks: [
        finding(
          'mx-cert',
          'error',
          'certificate: expired <1> & "quoted"',
          { banner: ['220 \u0001 weird\u0007 <>&'] },
          'mx1.bad.example 192.0.2.1',
        ),
        finding('mx-starttls', 'error', 'control \u0000 char in a message', {}, 'mx2.bad.example 192.0.2.2'),
      ],
    },
    { domain: 'slow.example', result: 'error', checks: [], error: { code: 'ECHECK_TIMEOUT', message: 'the run timed out' } },
  ],
};

type Case = {
  '@_name': string;
  '@_classname': string;
  failure?: { '@_message': string; '#text': string };
  skipped?: { '@_message': string };
  error?: { '@_type': string };
};
type Suite = { '@_name': string; '@_tests': string; '@_failures': string; '@_errors': string; '@_skipped': string; testcase: Case[] };

function parse(xml: string): { testsuites: { '@_name': string; '@_tests': string; testsuite: Suite[] } } {
  const parser = new XMLParser({
    ignoreAttributes: false,
    parseAttributeValue: false,
    isArray: (name) => name === 'testsuite' || name === 'testcase',
  });
  return parser.parse(xml) as { testsuites: { '@_name': string; '@_tests': string; testsuite: Suite[] } };
}

describe('JUnit XML', () => {
  const xml = formatJunit(SAMPLE);

  it('is valid against docs/check-junit.xsd (xmllint)', () => {
    const r = xmllint(xml);
    assert.equal(r.status, 0, r.stderr);
  });

  it('the schema refuses what JUnit readers would not take (guards the schema itself)', () => {
    assert.notEqual(
      xmllint('<testsuites><testsuite name="a" tests="1"><testcase name="x"><failure/><skipped/></testcase></testsuite></testsuites>')
        .status,
      0,
    );
    assert.notEqual(xmllint('<testsuites><testcase name="x"/></testsuites>').status, 0);
  });

  it('parses back: one testsuite per domain, one testcase per check, errors as failure, warnings as skipped', () => {
    const doc = parse(xml);
    assert.equal(doc.testsuites['@_name'], JUNIT_SUITES_NAME);
    assert.equal(doc.testsuites['@_tests'], '5');
    const [good, bad, slow] = doc.testsuites.testsuite;
    assert.deepEqual([good?.['@_name'], bad?.['@_name'], slow?.['@_name']], ['good.example', 'bad.example', 'slow.example']);
    assert.deepEqual(
      good?.testcase.map((c) => [c['@_name'], c['@_classname'], c.skipped !== undefined, c.failure !== undefined]),
      [
        ['sts-txt', 'good.example.sts-txt', false, false],
        ['tlsrpt-txt', 'good.example.tlsrpt-txt', true, false],
      ],
    );
    assert.equal(good?.['@_skipped'], '1');
    const cert = bad?.testcase[0];
    assert.equal(cert?.['@_name'], 'mx-cert mx1.bad.example 192.0.2.1');
    assert.equal(cert?.failure?.['@_message'], 'certificate: expired <1> & "quoted"');
    assert.deepEqual(JSON.parse(cert?.failure?.['#text'] ?? ''), { banner: ['220 \u0001 weird\u0007 <>&'] }, 'evidence survives as JSON');
    assert.equal(bad?.['@_failures'], '2');
    assert.equal(slow?.testcase[0]?.error?.['@_type'], 'ECHECK_TIMEOUT');
    assert.equal(slow?.['@_errors'], '1');
  });

  it('never carries a character XML 1.0 forbids', () => {
    assert.doesNotMatch(xml, /[\x00-\x08\x0b\x0c\x0e-\x1f]/);
    assert.equal(xmlSafe('a\u0000b\ud800c'), 'a\ufffdb\ufffdc');
    assert.match(parse(xml).testsuites.testsuite[1]?.testcase[1]?.failure?.['@_message'] ?? '', /control \ufffd char/);
  });

  it('is deterministic', () => assert.equal(formatJunit(SAMPLE), xml));
});

describe('JSON', () => {
  it('has the documented form', () => {
    const doc = JSON.parse(formatJson(SAMPLE)) as {
      domains: Array<{ domain: string; result: string; checks: Array<Record<string, unknown>>; error?: unknown }>;
    };
    assert.deepEqual(Object.keys(doc), ['domains']);
    const c = doc.domains[1]?.checks[0];
    assert.deepEqual(Object.keys(c ?? {}), ['id', 'level', 'ok', 'subject', 'message', 'evidence']);
    assert.deepEqual([c?.['id'], c?.['level'], c?.['ok']], ['mx-cert', 'error', false]);
    assert.deepEqual(doc.domains[2]?.error, { code: 'ECHECK_TIMEOUT', message: 'the run timed out' });
    for (const d of doc.domains) for (const check of d.checks) assert.ok((CHECK_IDS as readonly unknown[]).includes(check['id']));
  });
});

describe('text', () => {
  it('has no escape sequences unless colour is asked for', () => {
    const plain = formatText(SAMPLE, false);
    assert.doesNotMatch(plain, /\x1b\[/);
    assert.match(formatText(SAMPLE, true), /\x1b\[31mFAIL\x1b\[0m/);
  });
  it('shows each domain with its result and every check, control characters escaped', () => {
    const plain = formatText(SAMPLE, false);
    assert.match(plain, /^good\.example: WARN \(0 failed, 1 warning\(s\), 1 passed\)$/m);
    assert.match(plain, /^ {2}FAIL mx-cert \[mx1\.bad\.example 192\.0\.2\.1\]: certificate: expired <1>/m);
    assert.match(plain, /control \\x00 char/);
    assert.match(plain, /^ {2}ERROR ECHECK_TIMEOUT: the run timed out$/m);
    assert.match(plain, /^3 domain\(s\): 0 pass, 1 warn, 1 fail, 1 error$/m);
  });
});
