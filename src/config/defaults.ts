/** The embedded defaults, declared in schema.ts; kept as a module so existing imports stay valid. */
export { buildDefaultConfig, DEFAULT_SQLITE_TIMEOUT_SEC, DEFAULT_ZONE, defaultPolicyDelegation, deepFreeze } from './schema.js';
