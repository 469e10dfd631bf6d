import { describe, expect, it } from 'vitest';
import { agentConfigFromEnv, ConfigError, POD_TOKEN_HEADER, resolvePeer } from './config';

describe('agent configuration', () => {
  const base = { REELMESH_AGENT: 'vfx-2', REELMESH_DATA_DIR: '/tmp/v', REELMESH_LISTEN: 'unix:/tmp/v/app.sock' };

  it('reads REELMESH_* once, with defaults', () => {
    const c = agentConfigFromEnv({ ...base, REELMESH_PEERS: '{"color":"http://127.0.0.1:4001"}' });
    expect(c).toMatchObject({ agent: 'vfx-2', dataDir: '/tmp/v', listen: 'unix:/tmp/v/app.sock', concurrency: 1 });
    expect(agentConfigFromEnv({ REELMESH_AGENT: 'vfx-2', REELMESH_DATA_DIR: '/tmp/v' }).listen).toBe('127.0.0.1:0');
    expect(resolvePeer(c, 'color')).toEqual({ baseUrl: 'http://127.0.0.1:4001' });
    expect(() => resolvePeer(c, 'hdr')).toThrow(/no address for agent "hdr"/);
  });

  it('routes every peer through the outbound proxy in mesh mode, naming the agent as Host', () => {
    const c = agentConfigFromEnv({ ...base, REELMESH_OUTBOUND_PROXY: 'http://127.0.0.1:15001' });
    expect(resolvePeer(c, 'color')).toEqual({ baseUrl: 'http://127.0.0.1:15001', hostHeader: 'color' });
  });

  it("carries the pod's token to its outbound proxy only (never to a peer's own address)", () => {
    const token = 'k'.repeat(43);
    const mesh = agentConfigFromEnv({ ...base, REELMESH_OUTBOUND_PROXY: 'unix:/tmp/v/outbound.sock', REELMESH_POD_TOKEN: token });
    expect(mesh.podToken).toBe(token);
    expect(resolvePeer(mesh, 'color')).toEqual({ baseUrl: 'unix:/tmp/v/outbound.sock', hostHeader: 'color', headers: { [POD_TOKEN_HEADER]: token } });
    const plain = agentConfigFromEnv({ ...base, REELMESH_PEERS: '{"color":"http://127.0.0.1:4001"}', REELMESH_POD_TOKEN: token });
    expect(resolvePeer(plain, 'color')).toEqual({ baseUrl: 'http://127.0.0.1:4001' });
    // A token short enough to guess, or empty, is a configuration error, not an open app.
    expect(() => agentConfigFromEnv({ ...base, REELMESH_POD_TOKEN: 'short' })).toThrow(/\/podToken must match pattern/);
    expect(() => agentConfigFromEnv({ ...base, REELMESH_POD_TOKEN: '' })).toThrow(/\/podToken must match pattern/);
  });

  it('fails fast with a clear message', () => {
    expect(() => agentConfigFromEnv({ ...base, REELMESH_LISTEN: 'eighty' })).toThrow(/REELMESH_LISTEN: listen address must be <host>:<port> or unix:<absolute path>/);
    expect(() => agentConfigFromEnv({ ...base, REELMESH_CONCURRENCY: 'two' })).toThrow(/REELMESH_CONCURRENCY must be an integer/);
    expect(() => agentConfigFromEnv({ ...base, REELMESH_PEERS: '{nope' })).toThrow(/REELMESH_PEERS is not valid JSON/);
    expect(() => agentConfigFromEnv({ REELMESH_AGENT: 'Bad Name', REELMESH_DATA_DIR: '/x' })).toThrow(ConfigError);
    expect(() => agentConfigFromEnv({ REELMESH_AGENT: 'color' })).toThrow(/dataDir/);
  });
});
