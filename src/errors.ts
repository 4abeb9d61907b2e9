/**
 * Typed errors with stable codes. Every code is listed in docs/errors.md.
 * Expected outcomes (no policy, DNS failure, fetch failure) are values, not exceptions;
 * these are for configuration, startup and programming errors that end a command.
 */
export type BridgeErrorCode =
  | 'ECONFIG_SYNTAX'
  | 'ECONFIG_INVALID'
  | 'ECONFIG_UNSUPPORTED'
  | 'ECONFIG_READ'
  | 'ELISTEN_ADDRESS'
  | 'ELISTEN_IN_USE'
  | 'ELISTEN_FAILED'
  | 'ELISTEN_ACTIVATION'
  | 'ELISTEN_UNSAFE_DIRECTORY'
  | 'ECACHE_OPEN'
  | 'ECACHE_BACKEND'
  | 'EPRIVILEGES'
  | 'EUSAGE'
  | 'EINTERNAL';

export class BridgeError extends Error {
  readonly code: BridgeErrorCode;
  constructor(code: BridgeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'BridgeError';
  }
}
