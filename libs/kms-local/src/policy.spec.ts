import { describe, it, expect } from 'vitest';
import { agentOf, isAllowed, mentions, parseKeyPolicy, type KeyPolicy } from './policy';

const vfx2 = { principal: 'agent/vfx-2' };
const color = { principal: 'agent/color' };

const policy: KeyPolicy = parseKeyPolicy({
  version: 1,
  statements: [
    { sid: 'own', principals: ['agent/*'], actions: ['Decrypt', 'GenerateDataKey*'], contextEquals: { agent: '${agent}' } },
    { sid: 'recipient', principals: ['agent/*'], actions: ['Decrypt'], contextListContains: { recipients: '${agent}' } },
    { sid: 'no-color-keys', effect: 'Deny', principals: ['agent/color'], actions: ['GenerateDataKeyWithoutPlaintext'] },
  ],
});

describe('key policy evaluation', () => {
  it('denies by default: no statement, no access', () => {
    expect(isAllowed(policy, vfx2, 'Encrypt', { agent: 'vfx-2' })).toBe(false);
    expect(isAllowed(policy, { principal: 'owner' }, 'Decrypt', { agent: 'owner' })).toBe(false);
  });

  it('expands ${agent} to the caller for equality conditions', () => {
    expect(isAllowed(policy, vfx2, 'Decrypt', { agent: 'vfx-2', step: 'grade' })).toBe(true);
    expect(isAllowed(policy, vfx2, 'Decrypt', { agent: 'color' })).toBe(false);
    expect(isAllowed(policy, vfx2, 'Decrypt', {})).toBe(false);
  });

  it('matches list membership exactly, not as a substring', () => {
    expect(isAllowed(policy, vfx2, 'Decrypt', { recipients: 'color, vfx-2' })).toBe(true);
    expect(isAllowed(policy, vfx2, 'Decrypt', { recipients: 'vfx-20,xvfx-2' })).toBe(false);
    expect(isAllowed(policy, vfx2, 'GenerateDataKey', { recipients: 'vfx-2' })).toBe(false);
  });

  it('lets an explicit Deny win and globs actions by prefix', () => {
    expect(isAllowed(policy, vfx2, 'GenerateDataKeyWithoutPlaintext', { agent: 'vfx-2' })).toBe(true);
    expect(isAllowed(policy, color, 'GenerateDataKeyWithoutPlaintext', { agent: 'color' })).toBe(false);
    expect(isAllowed(policy, color, 'GenerateDataKey', { agent: 'color' })).toBe(true);
  });

  it('fails closed when ${agent} has no value (a non-agent principal)', () => {
    const anyone = parseKeyPolicy({ version: 1, statements: [{ principals: ['*'], actions: ['Decrypt'], contextEquals: { agent: '${agent}' } }] });
    expect(agentOf('owner')).toBeUndefined();
    expect(isAllowed(anyone, { principal: 'owner' }, 'Decrypt', { agent: '' })).toBe(false);
    expect(isAllowed(anyone, vfx2, 'Decrypt', { agent: 'vfx-2' })).toBe(true);
  });

  it('reports which principals a policy mentions (for listings)', () => {
    expect(mentions(policy, vfx2)).toBe(true);
    expect(mentions(policy, { principal: 'owner' })).toBe(false);
  });

  it('rejects malformed policies with a reason', () => {
    const bad = [
      null,
      { version: 2, statements: [{ principals: ['x'], actions: ['Decrypt'] }] },
      { version: 1, statements: [] },
      { version: 1, statements: [{ principals: [], actions: ['Decrypt'] }] },
      { version: 1, statements: [{ principals: ['x'], actions: ['Frobnicate'] }] },
      { version: 1, statements: [{ principals: ['x'], actions: ['Decrypt'], contextEquals: { a: 1 } }] },
      { version: 1, statements: [{ principals: ['x'], actions: ['Decrypt'], contextEquals: { a: '${nope}' } }] },
      { version: 1, statements: [{ principals: ['x'], actions: ['Decrypt'], effect: 'Maybe' }] },
      { version: 1, statements: [{ principals: ['x'], actions: ['Decrypt'], conditions: {} }] },
    ];
    for (const input of bad) {
      expect(() => parseKeyPolicy(input), JSON.stringify(input)).toThrow(
        expect.objectContaining({ type: 'MalformedPolicyDocumentException' }),
      );
    }
  });
});
