/** A DnssecDns whose answers are set per type and name, for the finding and cache tests. */
import type { DaneQueryType, DnssecAnswer, DnssecDns, RecordsOf } from '../../src/dane/types.js';

type AnyAnswer = DnssecAnswer<DaneQueryType>;

export class ScriptedDnssec implements DnssecDns {
  readonly answers = new Map<string, AnyAnswer>();
  readonly asked: string[] = [];
  gate: Promise<void> | undefined;

  set<T extends DaneQueryType>(type: T, name: string, answer: DnssecAnswer<T>): this {
    this.answers.set(`${type} ${name}`, answer);
    return this;
  }
  records<T extends DaneQueryType>(type: T, name: string, records: ReadonlyArray<RecordsOf[T]>, secure = true, ttl = 300): this {
    return this.set(type, name, { kind: 'records', secure, owner: name, records, ttl });
  }
  async query<T extends DaneQueryType>(name: string, type: T): Promise<DnssecAnswer<T>> {
    this.asked.push(`${type} ${name}`);
    if (this.gate !== undefined) await this.gate;
    const found = this.answers.get(`${type} ${name}`);
    // Unknown names: validated NXDOMAIN (a signed world by default).
    return (found ?? { kind: 'nxdomain', secure: true, owner: name, ttl: 600 }) as DnssecAnswer<T>;
  }
}

export const HASH32 = Buffer.alloc(32, 0xab);
export const EE = { usage: 3, selector: 1, matchingType: 1, data: HASH32 };
export const PKIX = { usage: 1, selector: 1, matchingType: 1, data: HASH32 };
