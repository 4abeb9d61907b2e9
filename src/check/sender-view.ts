/**
 * The sender's view: what a sender that has cached the current policy does with each MX host
 * (RFC 8461 §4, §5), with DANE first where it applies (RFC 8461 §2: MTA-STS never overrides a
 * failing DANE validation). One `sender-view` result per domain, each host's action as evidence.
 * Pure.
 */
import type { StsPolicy } from '../policy/types.js';
import type { HostView } from './judge-mx.js';
import { finding, type CheckLevel, type CheckResult } from './types.js';

export type SenderAction =
  /** TLS verified as the policy asks: mail goes here. */
  | 'deliver-verified'
  /** Only some addresses verify: mail goes here after failed tries at the others. */
  | 'deliver-some-addresses'
  /** `testing`: the host fails the policy, mail goes anyway and a TLSRPT failure is reported. */
  | 'deliver-and-report'
  /** `enforce`: the host fails the policy, senders skip it (and defer if no host is left). */
  | 'refuse'
  /** A DANE sender: a TLSA record is published and nothing matches, whatever MTA-STS says. */
  | 'refuse-dane'
  /** `none`: MTA-STS does not apply. */
  | 'no-mta-sts';

export interface HostAction {
  readonly host: string;
  readonly action: SenderAction;
  readonly why: string;
}

export function hostAction(mode: StsPolicy['mode'], h: HostView): HostAction {
  const verified = h.addresses.filter((a) => a.verified);
  const daneFails = h.addresses.length > 0 && h.addresses.every((a) => a.dane === 'no-match');
  const policyOk = h.matchesPolicy && verified.length > 0;
  const why = !h.matchesPolicy
    ? 'matches no policy mx pattern'
    : verified.length === 0
      ? (h.addresses[0]?.problem ?? 'no address reached')
      : `${verified.length} of ${h.addresses.length} address(es) verified`;
  if (daneFails) return { host: h.host, action: 'refuse-dane', why: 'TLSA published, no match' };
  switch (mode) {
    case 'none':
      return { host: h.host, action: 'no-mta-sts', why: 'mode none' };
    case 'testing':
      return { host: h.host, action: policyOk ? 'deliver-verified' : 'deliver-and-report', why };
    case 'enforce':
      if (!policyOk) return { host: h.host, action: 'refuse', why };
      return { host: h.host, action: verified.length === h.addresses.length ? 'deliver-verified' : 'deliver-some-addresses', why };
    default: {
      const _never: never = mode;
      return _never;
    }
  }
}

/** `sender-view`; undefined when no MX host was checked. */
export function judgeSenderView(policy: StsPolicy, hosts: readonly HostView[]): CheckResult | undefined {
  if (hosts.length === 0) return undefined;
  const actions = hosts.map((h) => hostAction(policy.mode, h));
  const evidence = { mode: policy.mode, hosts: actions };
  const refused = actions.filter((a) => a.action === 'refuse' || a.action === 'refuse-dane');
  const delivering = actions.filter((a) => a.action === 'deliver-verified' || a.action === 'deliver-some-addresses');
  const list = (xs: readonly HostAction[]): string => xs.map((a) => `${a.host} (${a.why})`).join(', ');
  let level: CheckLevel;
  let message: string;
  switch (policy.mode) {
    case 'none':
      level = 'info';
      message = 'mode none: senders apply no MTA-STS';
      break;
    case 'testing': {
      const failing = actions.filter((a) => a.action !== 'deliver-verified');
      level = failing.length === 0 ? 'info' : 'warning';
      message =
        failing.length === 0
          ? 'every MX host passes: switching to enforce would change no delivery'
          : `mail flows (testing), but senders report failures, and under enforce would refuse: ${list(failing)}`;
      break;
    }
    case 'enforce':
      if (delivering.length === 0) {
        level = 'error';
        message = `senders with this policy cached deliver to no MX host and defer all mail: ${list(refused)}`;
      } else if (refused.length > 0 || delivering.some((a) => a.action === 'deliver-some-addresses')) {
        level = 'warning';
        message = `mail flows via ${delivering.map((a) => a.host).join(', ')}; ${refused.length > 0 ? `senders skip ${list(refused)}` : 'some addresses fail'}`;
      } else {
        level = 'info';
        message = `senders deliver over verified TLS to ${delivering.map((a) => a.host).join(', ')}`;
      }
      break;
    default: {
      const _never: never = policy.mode;
      return _never;
    }
  }
  if (actions.every((a) => a.action === 'refuse-dane')) {
    level = 'error';
    message = `DANE senders deliver to no MX host: ${list(actions)}`;
  }
  return finding('sender-view', level, message, evidence);
}
