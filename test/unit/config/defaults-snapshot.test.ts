import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildDefaultConfig, DEFAULT_ZONE, defaultPolicyDelegation } from '../../../src/config/defaults.js';
import { schemaDefaults } from '../../../src/config/schema.js';

// defaults.ts keeps a plain copy so that a daemon without -c never loads zod; the schema decides.
describe('embedded defaults', () => {
  it('are exactly what the schema gives an empty file', () => {
    const fromSchema = schemaDefaults();
    assert.ok(fromSchema !== undefined);
    assert.deepEqual(buildDefaultConfig(), fromSchema);
    assert.deepEqual(DEFAULT_ZONE, fromSchema.defaultZone);
    assert.deepEqual(defaultPolicyDelegation(), fromSchema.policyDelegation);
  });
});
