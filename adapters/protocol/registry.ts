/**
 * The protocol registry: the one place src/ reaches into adapters/protocol/.
 */
import type { ProtocolName } from '../../src/config/types.js';
import { BridgeError } from '../../src/errors.js';
import type { ProtocolAdapter } from '../../src/protocol/types.js';
import { socketmapAdapter } from './socketmap.js';
import { policyDelegationAdapter } from './policy-delegation.js';
import { tcpTableAdapter } from './tcp-table.js';
import { eximAdapter } from './exim.js';

/**
 * The adapter serving `protocol`. Throws BridgeError ECONFIG_UNSUPPORTED for protocols the
 * configuration grammar knows but this build does not implement yet.
 */
export function adapterFor(protocol: ProtocolName): ProtocolAdapter {
  switch (protocol) {
    case 'socketmap':
      return socketmapAdapter;
    case 'policy':
      return policyDelegationAdapter;
    case 'tcp_table':
      return tcpTableAdapter;
    case 'exim':
      return eximAdapter;
    default: {
      const _never: never = protocol;
      throw new BridgeError('ECONFIG_UNSUPPORTED', `unknown protocol ${String(_never)}`);
    }
  }
}
