/**
 * Counting answered lookups per protocol without touching the server or the adapters: the
 * adapter a listener uses is wrapped so that the LookupService its handler sees reports each
 * answer to the Metrics port. Used only when metrics are on; otherwise nothing is wrapped.
 */
import type { AnswerFormatter, LookupResult, LookupService, WarmNote } from '../lookup.js';
import type { HandlerContext, ProtocolAdapter, Reply } from '../protocol/types.js';
import { daneAnswerOutcome } from './dane.js';
import type { LookupOrigin, Metrics } from './types.js';

/** A LookupService that reports every answer as coming from `protocol`. */
export function measuredLookup(inner: LookupService, protocol: LookupOrigin, metrics: Metrics): LookupService {
  // Warm answers are synchronous: one start time and one note function serve every call.
  let warmStarted = 0;
  const warmNote: WarmNote = (zoneName, outcome, source) =>
    metrics.lookupAnswered(protocol, zoneName, outcome, source, (performance.now() - warmStarted) / 1000);
  return {
    zone: (zoneName) => inner.zone(zoneName),
    cachedAnswer<T>(domain: string, zoneName: string | undefined, format: AnswerFormatter<T>): T | undefined {
      if (inner.cachedAnswer === undefined) return undefined;
      warmStarted = performance.now();
      return inner.cachedAnswer(domain, zoneName, format, warmNote);
    },
    async lookup(domain: string, zoneName?: string): Promise<LookupResult> {
      const started = performance.now();
      const result = await inner.lookup(domain, zoneName);
      const r = result.resolution;
      const outcome = daneAnswerOutcome(result.dane) ?? r.kind;
      metrics.lookupAnswered(
        protocol,
        result.zoneName,
        outcome,
        r.kind === 'dns-error' ? 'lookup' : r.source,
        (performance.now() - started) / 1000,
      );
      return result;
    },
  };
}

/**
 * `adapter` with its handler given a measured LookupService. Everything else (decoder, limits,
 * any field added later) is the adapter's own, reached through the prototype.
 */
export function measuredAdapter<Req>(adapter: ProtocolAdapter<Req>, protocol: LookupOrigin, metrics: Metrics): ProtocolAdapter<Req> {
  // One measured service per underlying one, one context per connection context: no allocation per request.
  const services = new WeakMap<LookupService, LookupService>();
  const contexts = new WeakMap<HandlerContext, HandlerContext>();
  const measuredContext = (ctx: HandlerContext): HandlerContext => {
    let found = contexts.get(ctx);
    if (found === undefined) {
      let lookup = services.get(ctx.lookup);
      if (lookup === undefined) {
        lookup = measuredLookup(ctx.lookup, protocol, metrics);
        services.set(ctx.lookup, lookup);
      }
      found = { ...ctx, lookup };
      contexts.set(ctx, found);
    }
    return found;
  };
  const wrapped = Object.create(adapter) as ProtocolAdapter<Req>;
  const answerNow = adapter.answerNow?.bind(adapter);
  if (answerNow !== undefined) {
    Object.defineProperty(wrapped, 'answerNow', {
      value: (request: Req, ctx: HandlerContext): Reply | undefined => answerNow(request, measuredContext(ctx)),
    });
  }
  Object.defineProperty(wrapped, 'handle', {
    value: (request: Req, ctx: HandlerContext): Promise<Uint8Array> => adapter.handle(request, measuredContext(ctx)),
  });
  return wrapped;
}
