/**
 * The protocol registry: the one place src/ reaches into adapters/protocol/.
 */
import type { ProtocolName } from '../config/types.js';
import { BridgeError } from '../errors.js';
import type { ProtocolAdapter } from './types.js';
import { socketmapAdapter } from '../../adapters/protocol/socketmap.js';

/**
 * The adapter serving `protocol`. Throws BridgeError ECONFIG_UNSUPPORTED for protocols the
 * configuration grammar knows but this build does not implement yet.
 */
export function adapterFor(protocol: ProtocolName): ProtocolAdapter {
  switch (protocol) {
    case 'socketmap':
      return socketmapAdapter as ProtocolAdapter;
    case 'tcp_table':
    case 'policy':
    case 'exim':
      throw new BridgeError('ECONFIG_UNSUPPORTED', `protocol ${protocol} is not implemented yet (only socketmap is)`);
    default: {
      const _never: never = protocol;
      throw new BridgeError('ECONFIG_UNSUPPORTED', `unknown protocol ${String(_never)}`);
    }
  }
}
