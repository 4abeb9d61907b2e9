/**
 * A {@link DnssecDns} that remembers every query and its answer, for `query`: the report shows
 * the MX RRset with its AD bit, each host's address and TLSA answers, as the lookup saw them.
 */
import { formatTlsa } from './tlsa.js';
import type { DaneQueryType, DnssecAnswer, DnssecDns, MxRecord, RecordsOf, TlsaRecord } from './types.js';

/** One query as `query` prints it. */
export interface TracedQuery {
  readonly type: DaneQueryType;
  readonly name: string;
  readonly ms: number;
  readonly answer: DnssecAnswer<DaneQueryType>;
}

export interface TracingDns extends DnssecDns {
  readonly queries: readonly TracedQuery[];
}

export function tracingDns(inner: DnssecDns): TracingDns {
  const queries: TracedQuery[] = [];
  return {
    queries,
    async query<T extends DaneQueryType>(name: string, type: T, timeoutMs: number): Promise<DnssecAnswer<T>> {
      const started = Date.now();
      const answer = await inner.query(name, type, timeoutMs);
      queries.push({ type, name, ms: Date.now() - started, answer: answer });
      return answer;
    },
  };
}

/** A record in presentation form. */
function recordText(type: DaneQueryType, record: RecordsOf[DaneQueryType]): string {
  switch (type) {
    case 'MX': {
      const mx = record as MxRecord;
      return `${mx.preference} ${mx.exchange === '' ? '.' : mx.exchange}`;
    }
    case 'TLSA':
      return formatTlsa(record as TlsaRecord);
    case 'A':
    case 'AAAA':
    case 'NS':
      return record as RecordsOf['A' | 'AAAA' | 'NS'];
    default: {
      const _never: never = type;
      return _never;
    }
  }
}

/** One line per query, then one per record: `MX example.com: validated (AD), ttl 300`. */
export function formatTrace(queries: readonly TracedQuery[]): string[] {
  const out: string[] = [];
  for (const q of queries) {
    const a = q.answer;
    switch (a.kind) {
      case 'records':
        out.push(`${q.type} ${q.name}: ${a.secure ? 'validated (AD)' : 'not validated (no AD)'}, ttl ${a.ttl} (${q.ms} ms)`);
        if (a.owner !== q.name) out.push(`  via CNAME to ${a.owner}`);
        for (const r of a.records) out.push(`  ${recordText(q.type, r)}`);
        break;
      case 'nxdomain':
      case 'nodata':
        out.push(
          `${q.type} ${q.name}: ${a.kind.toUpperCase()} ${a.secure ? 'validated (AD)' : 'not validated (no AD)'}, ttl ${a.ttl} (${q.ms} ms)`,
        );
        break;
      case 'error':
        out.push(`${q.type} ${q.name}: failed: ${a.message} [${a.code}] (${q.ms} ms)`);
        break;
      default: {
        const _never: never = a;
        out.push(String(_never));
      }
    }
  }
  return out;
}
