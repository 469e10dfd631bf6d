import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluate } from './evaluate';
import { REPO_ROOT } from './files';
import { buildPolicyInput, parsePathAndQuery } from './input';
import { data, fixture } from './spec-support';


describe('input fixtures', () => {
  it.each([
    ['input-allowed.json', { allowed: true, reason: 'allowed' }],
    ['input-denied-reverse-edge.json', { allowed: false, reason: 'edge_forbidden' }],
    ['input-denied-method.json', { allowed: false, reason: 'method_not_allowed' }],
    ['input-denied-path.json', { allowed: false, reason: 'path_not_handoff' }],
  ])('%s decides %j', (name, expected) => {
    expect(evaluate(fixture(name), data)).toEqual(expected);
  });

  it('each fixture carries the parsed_path and parsed_query opa-envoy-plugin would derive', () => {
    for (const name of ['input-allowed.json', 'input-denied-reverse-edge.json', 'input-denied-method.json', 'input-denied-path.json']) {
      const input = fixture(name);
      const parsed = parsePathAndQuery(input.attributes.request.http.path)!;
      expect(input.parsed_path, name).toEqual(parsed.path);
      expect(input.parsed_query, name).toEqual(parsed.query);
    }
  });

  it('the example in docs/policy-input.md is the allowed fixture', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs/policy-input.md'), 'utf8');
    const example = /```json\n([\s\S]*?)```/.exec(doc)![1];
    expect(JSON.parse(example)).toEqual(fixture('input-allowed.json'));
  });
});

describe('buildPolicyInput', () => {
  it('builds the opa-envoy-plugin shape', () => {
    const input = buildPolicyInput({
      sourcePrincipal: 'spiffe://reelmesh.local/ns/owner/sa/owner',
      destinationPrincipal: 'spiffe://reelmesh.local/ns/vfx/sa/vfx-1',
      method: 'POST',
      path: '/v1/handoffs/feature-film/demux/av/3?x=1&x=2&y=',
      host: 'vfx-1',
    });
    expect(input).toEqual({
      attributes: {
        source: { principal: 'spiffe://reelmesh.local/ns/owner/sa/owner' },
        destination: { principal: 'spiffe://reelmesh.local/ns/vfx/sa/vfx-1' },
        request: { http: { method: 'POST', path: '/v1/handoffs/feature-film/demux/av/3?x=1&x=2&y=', host: 'vfx-1', headers: {} } },
      },
      parsed_path: ['v1', 'handoffs', 'feature-film', 'demux', 'av', '3'],
      parsed_query: { x: ['1', '2'], y: [''] },
    });
  });

  it('decodes parsed_path like the plugin, and omits it for a path that does not decode', () => {
    expect(parsePathAndQuery('//a/b%2Fc')!.path).toEqual(['a', 'b', 'c']);
    expect(parsePathAndQuery('/')!.path).toEqual(['']);
    const input = buildPolicyInput({ sourcePrincipal: 's', destinationPrincipal: 'd', method: 'POST', path: '/bad%zz' });
    expect(input).not.toHaveProperty('parsed_path');
    expect(input).not.toHaveProperty('parsed_query');
  });
});
