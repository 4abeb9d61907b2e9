import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDomainList } from '../../../src/generate/domain-list.js';

describe('parseDomainList', () => {
  const cases: ReadonlyArray<{ name: string; text: string; domains: string[]; problems?: Array<[number, string]>; duplicates?: number }> = [
    { name: 'empty text', text: '', domains: [] },
    { name: 'one domain without newline', text: 'example.com', domains: ['example.com'] },
    { name: 'LF and CRLF lines', text: 'a.test\r\nb.test\nc.test\r\n', domains: ['a.test', 'b.test', 'c.test'] },
    {
      name: 'comments and blank lines',
      text: '# list\n\n  \na.test # primary\n\t# indented comment\nb.test',
      domains: ['a.test', 'b.test'],
    },
    { name: 'surrounding whitespace', text: '   a.test   \n\tb.test\t', domains: ['a.test', 'b.test'] },
    { name: 'case and trailing dot are normalised', text: 'EXAMPLE.Com.\n', domains: ['example.com'] },
    { name: 'U-labels become A-labels', text: 'bücher.test\n', domains: ['xn--bcher-kva.test'] },
    {
      name: 'duplicates after normalisation are dropped, first order kept',
      text: 'b.test\na.test\nB.TEST.\n',
      domains: ['b.test', 'a.test'],
      duplicates: 1,
    },
    {
      name: 'invalid lines are reported with their line number and skipped',
      text: 'a.test\nbad_name..test\n192.0.2.1\nb.test\nfoo bar\n',
      domains: ['a.test', 'b.test'],
      problems: [
        [2, 'EDOMAIN_INVALID'],
        [3, 'EDOMAIN_IP_LITERAL'],
        [5, 'EDOMAIN_INVALID'],
      ],
    },
    { name: 'only comments', text: '# nothing\n#\n', domains: [] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = parseDomainList(c.text);
      assert.deepEqual(r.domains, c.domains);
      assert.deepEqual(
        r.problems.map((p) => [p.line, p.code]),
        c.problems ?? [],
      );
      assert.equal(r.duplicates, c.duplicates ?? 0);
      for (const p of r.problems) assert.ok(p.message.length > 0);
    });
  }
});
