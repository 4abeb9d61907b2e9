import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { expectConfig, expectProblems, type ExpectedProblem } from './config-helpers.js';

describe('policy_delegation config', () => {
  it('has defaults when absent', () => {
    const { config } = expectConfig('port: 8461\n');
    assert.deepEqual(config.policyDelegation, { queueSize: 1000, concurrency: 4, skipDomains: [] });
  });

  it('reads every key and normalizes skip_domains to lower-case A-labels', () => {
    const { config, warnings } = expectConfig(
      'policy_delegation:\n  queue_size: 50\n  concurrency: 2\n  skip_domains:\n    - Example.ORG\n    - .Corp.example\n    - bücher.test.\n',
    );
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.policyDelegation, {
      queueSize: 50,
      concurrency: 2,
      skipDomains: ['example.org', '.corp.example', 'xn--bcher-kva.test'],
    });
  });

  it('reports every problem with its path', () => {
    expectProblems(
      'policy_delegation:\n  queue_size: 0\n  concurrency: many\n  skip_domains:\n    - ok.test\n    - "bad domain"\n    - 192.0.2.1\n    -\n  queue_sise: 5\n',
      (
        [
          { code: 'ECONFIG_RANGE', path: 'policy_delegation.queue_size', line: 2, message: 'at least 1' },
          { code: 'ECONFIG_TYPE', path: 'policy_delegation.concurrency', line: 3, message: 'must be an integer' },
          { code: 'ECONFIG_BAD_VALUE', path: 'policy_delegation.skip_domains[1]', line: 6, message: 'is not a domain name' },
          { code: 'ECONFIG_BAD_VALUE', path: 'policy_delegation.skip_domains[2]', line: 7, message: 'is not a domain name' },
          { code: 'ECONFIG_TYPE', path: 'policy_delegation.skip_domains[3]', line: 8, message: 'empty entry' },
          { code: 'ECONFIG_UNKNOWN_KEY', path: 'policy_delegation.queue_sise', line: 9, message: 'did you mean "queue_size"?' },
        ] satisfies ExpectedProblem[]
      ).sort((a, b) => a.line - b.line),
    );
  });

  it('refuses a non-list skip_domains and a non-mapping block', () => {
    expectProblems('policy_delegation:\n  skip_domains: example.org\n', [
      { code: 'ECONFIG_TYPE', path: 'policy_delegation.skip_domains', line: 2, message: 'must be a list' },
    ]);
    expectProblems('policy_delegation: 5\n', [{ code: 'ECONFIG_TYPE', path: 'policy_delegation', line: 1, message: 'must be a mapping' }]);
  });
});

describe('listener name, owner and group', () => {
  it('reads them on a unix listener', () => {
    const { config } = expectConfig(
      'listeners:\n  - protocol: policy\n    address: unix:/run/x/policy.sock\n    name: policy-unix\n    mode: 0660\n    owner: postfix\n    group: 105\n',
    );
    assert.deepEqual(config.listeners, [
      {
        name: 'policy-unix',
        owner: 'postfix',
        group: '105',
        protocol: 'policy',
        address: { kind: 'unix', path: '/run/x/policy.sock' },
        mode: 0o660,
        reusePort: false,
        origin: 'listeners[0]',
      },
    ]);
  });

  it('refuses owner/group on TCP, bad names and duplicate names', () => {
    expectProblems(
      'listeners:\n  - address: "127.0.0.1:9000"\n    owner: postfix\n    name: "a:b"\n  - address: "127.0.0.1:9001"\n    name: sm\n  - address: unix:/run/x.sock\n    name: sm\n    group: "bad group"\n',
      (
        [
          { code: 'ECONFIG_BAD_VALUE', path: 'listeners[0].owner', line: 3, message: 'only to unix sockets' },
          { code: 'ECONFIG_BAD_VALUE', path: 'listeners[0].name', line: 4, message: 'FileDescriptorName' },
          { code: 'ECONFIG_BAD_VALUE', path: 'listeners[2].group', line: 9, message: 'group name or numeric gid' },
          { code: 'ECONFIG_BAD_VALUE', path: 'listeners[2].name', line: 7, message: 'already used by listeners[1]' },
        ] satisfies ExpectedProblem[]
      ).sort((a, b) => a.line - b.line),
    );
  });
});
