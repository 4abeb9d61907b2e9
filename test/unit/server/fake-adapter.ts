/**
 * A line-based test protocol for the server tests, so they exercise the connection logic and
 * not a real codec. Request `ID DELAY_MS\n` answers `ID\n` after DELAY_MS (or when released,
 * for DELAY_MS `hold`; rejects for `reject`, breaking the port's contract); `BAD\n` is a decode
 * error whose reply is `ERR\n`; `BIG N` answers N bytes.
 */
import type { Decoder, DecodeStep, ProtocolAdapter } from '../../../src/protocol/types.js';
import type { LookupResult, LookupService } from '../../../src/lookup.js';
import { testZone } from '../../helpers/fakes.js';

export interface FakeRequest {
  readonly id: string;
  readonly arg: string;
}

export interface FakeAdapter extends ProtocolAdapter<FakeRequest> {
  /** Ids in the order their handler started. */
  readonly started: string[];
  /** Ids in the order their handler finished. */
  readonly finished: string[];
  /** Let every `hold` request finish. */
  release(): void;
}

export function fakeAdapter(options: { oneShot?: boolean } = {}): FakeAdapter {
  const started: string[] = [];
  const finished: string[] = [];
  let releaseAll: () => void = () => undefined;
  let held = new Promise<void>((resolve) => (releaseAll = resolve));
  return {
    protocol: 'fake',
    oneShot: options.oneShot ?? false,
    maxRequestBytes: 100,
    started,
    finished,
    release() {
      releaseAll();
      held = Promise.resolve();
    },
    newDecoder(): Decoder<FakeRequest> {
      let buffer = '';
      return {
        push(chunk: Uint8Array): DecodeStep<FakeRequest>[] {
          buffer += Buffer.from(chunk).toString('latin1');
          const steps: DecodeStep<FakeRequest>[] = [];
          let nl: number;
          while ((nl = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            if (line === 'BAD') {
              steps.push({ kind: 'error', code: 'EFAKE_BAD', message: 'bad line', reply: Buffer.from('ERR\n') });
              continue;
            }
            const [id = '', arg = '0'] = line.split(' ');
            steps.push({ kind: 'request', request: { id, arg } });
          }
          return steps;
        },
        partial: () => buffer !== '',
        end(): DecodeStep<FakeRequest>[] {
          return buffer === '' ? [] : [{ kind: 'error', code: 'EFAKE_TRUNCATED', message: 'truncated' }];
        },
      };
    },
    async handle(request: FakeRequest): Promise<Uint8Array> {
      started.push(request.id);
      if (request.arg === 'reject') throw new Error('handler bug');
      if (request.arg === 'hold') await held;
      else if (request.id === 'BIG') {
        finished.push(request.id);
        return Buffer.alloc(Number(request.arg), 0x41);
      } else await new Promise((r) => setTimeout(r, Number(request.arg)));
      finished.push(request.id);
      return Buffer.from(`${request.id}\n`);
    },
  };
}

/** A LookupService the fake adapter never calls. */
export const unusedLookup: LookupService = {
  lookup(): Promise<LookupResult> {
    return Promise.reject(new Error('not used'));
  },
  zone() {
    return { name: 'default', zone: testZone };
  },
};
