/**
 * `default_zone` and `zones.NAME`: per-zone behaviour. A zone block fills the keys it leaves out
 * from the built-in defaults, not from `default_zone` — the Python resolver's rule
 * (`populate_cfg_defaults`), kept so that its users' files mean the same thing here.
 */
import type { YAMLMap } from 'yaml';
import { DANE_DEFAULTS } from '../dane/decision.js';
import { DEFAULT_ZONE } from './defaults.js';
import { ZONE_TIMEOUT_MAX_SEC } from './limits.js';
import { asMap, readBool, readEnum, readMap, readNumber, report, type Field, type ReadContext } from './node-reader.js';
import type { ZoneConfig } from './types.js';

/** Keys of a zone block. */
export const ZONE_KEYS = ['strict_testing', 'timeout', 'require_sni', 'tlsrpt', 'dns_error', 'dane', 'dane_level', 'dane_lookup_failure'] as const;

const DANE_LEVELS = ['dane', 'dane-only'] as const;
const DANE_LOOKUP_FAILURES = ['temp', 'sts'] as const;

const DNS_ERROR_ANSWERS = ['no-policy', 'temp'] as const;
// Spellings people reach for; the canonical ones are what `config show` would print.
const DNS_ERROR_ALIASES: Readonly<Record<string, 'no-policy' | 'temp'>> = { no_policy: 'no-policy', tempfail: 'temp' };

/** Reads one zone block (already known to be a mapping). */
export function readZone(ctx: ReadContext, map: YAMLMap, path: string): ZoneConfig {
  const f = readMap(ctx, map, path, ZONE_KEYS);
  const get = <T>(key: string, read: (field: Field) => T | undefined): T | undefined => {
    const field = f.get(key);
    return field === undefined ? undefined : read(field);
  };
  const dane = get('dane', (x) => readBool(ctx, x));
  const daneLevel = get('dane_level', (x) => readEnum(ctx, x, DANE_LEVELS, {}));
  const daneLookupFailure = get('dane_lookup_failure', (x) => readEnum(ctx, x, DANE_LOOKUP_FAILURES, {}));
  // Absent keys leave `dane` out entirely, so a zone without them is the zone of earlier versions.
  const daneSettings =
    dane === undefined && daneLevel === undefined && daneLookupFailure === undefined
      ? undefined
      : { enabled: dane ?? DANE_DEFAULTS.enabled, level: daneLevel ?? DANE_DEFAULTS.level, lookupFailure: daneLookupFailure ?? DANE_DEFAULTS.lookupFailure };
  return {
    ...(daneSettings === undefined ? {} : { dane: daneSettings }),
    strictTesting: get('strict_testing', (x) => readBool(ctx, x)) ?? DEFAULT_ZONE.strictTesting,
    timeoutSec: get('timeout', (x) => readNumber(ctx, x, { above: 0, max: ZONE_TIMEOUT_MAX_SEC })) ?? DEFAULT_ZONE.timeoutSec,
    requireSni: get('require_sni', (x) => readBool(ctx, x)) ?? DEFAULT_ZONE.requireSni,
    tlsrpt: get('tlsrpt', (x) => readBool(ctx, x)) ?? DEFAULT_ZONE.tlsrpt,
    dnsErrorAnswer: get('dns_error', (x) => readEnum(ctx, x, DNS_ERROR_ANSWERS, DNS_ERROR_ALIASES)) ?? DEFAULT_ZONE.dnsErrorAnswer,
  };
}

/** Reads `default_zone`, or the defaults when absent. */
export function readDefaultZone(ctx: ReadContext, field: Field | undefined): ZoneConfig {
  if (field === undefined) return { ...DEFAULT_ZONE };
  const map = asMap(ctx, field);
  return map === undefined ? { ...DEFAULT_ZONE } : readZone(ctx, map, field.path);
}

/** Reads `zones`: map name → zone block. */
export function readZones(ctx: ReadContext, field: Field | undefined): Record<string, ZoneConfig> {
  const zones: [string, ZoneConfig][] = [];
  if (field === undefined) return {};
  const map = asMap(ctx, field);
  if (map === undefined) return {};
  for (const [name, zoneField] of readMap(ctx, map, field.path, 'any', true)) {
    // Postfix sends "NAME KEY" and the server splits at the first space: such a name never matches.
    if (/\s/.test(name) || name === '') {
      report(ctx, 'ECONFIG_BAD_VALUE', zoneField.path, zoneField.keyNode, 'a zone name must be one word: Postfix sends "NAME KEY" separated by a space');
      continue;
    }
    const zoneMap = asMap(ctx, zoneField);
    if (zoneMap !== undefined) zones.push([name, readZone(ctx, zoneMap, zoneField.path)]);
  }
  // fromEntries defines own properties, so even a zone called "__proto__" stays plain data.
  return Object.fromEntries(zones);
}
