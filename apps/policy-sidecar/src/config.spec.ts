import { describe, expect, it } from 'vitest';
import { DEFAULT_LISTEN, parseConfig } from './config';

const noEnv = {};

describe('policy sidecar configuration', () => {
  it('listens on OPA\'s address by default and takes no policy source', () => {
    expect(DEFAULT_LISTEN).toBe('127.0.0.1:8181');
    expect(parseConfig([], noEnv)).toEqual({ listen: '127.0.0.1:8181', waitForPush: false });
  });

  it('takes a TCP address or a Unix socket with --listen', () => {
    expect(parseConfig(['--listen', '[::1]:0'], noEnv).listen).toBe('[::1]:0');
    expect(parseConfig(['--listen', 'unix:/run/reelmesh/p.sock'], noEnv).listen).toBe('unix:/run/reelmesh/p.sock');
  });

  it('takes a check socket on a Unix socket or the loopback', () => {
    expect(parseConfig(['--check-listen', 'unix:/run/reelmesh/check.sock'], noEnv).checkListen).toBe('unix:/run/reelmesh/check.sock');
    expect(parseConfig(['--check-listen', '127.0.0.1:8182'], noEnv).checkListen).toBe('127.0.0.1:8182');
    expect(parseConfig([], noEnv).checkListen).toBeUndefined();
  });

  it.each([
    [['--check-listen', '0.0.0.0:8182'], /--check-listen: the check socket listens on a Unix socket or loopback only/],
    [['--check-listen', 'unix:check.sock'], /--check-listen: .*absolute path/],
    [['--listen', '8181'], /--listen: listen address must be <host>:<port>/],
    [['--listen', 'unix:p.sock'], /--listen: .*absolute path/],
    [['--listen', '127.0.0.1:70000'], /--listen/],
    // --port and --host are gone: --listen says both (or names a socket).
    [['--port', '0'], /Unknown option '--port'/],
    [['--host', '127.0.0.1'], /Unknown option '--host'/],
    [['extra'], /positional/],
    // The workflow parser is not in the sidecar: the CLI derives the data.
    [['--workflow', 'w.yaml'], /--workflow is not taken: derive the policy data with `reelmesh gen --policy-data <workflow.yaml> > data.json` and pass --data/],
    [['--wait-for-push', '--data', 'd.json'], /--wait-for-push takes no --data/],
    [['--wait-for-push'], /--wait-for-push needs POLICY_UPDATE_TOKEN/],
    [['--bundle-key', 'k.pem', '--data', 'd.json'], /--bundle-key loads signed bundles only/],
    [['--bundle', 'b.tar.gz'], /--bundle needs --bundle-key/],
    [['--audit-url', 'http://127.0.0.1:1/v1/audit/logs'], /--audit-url needs REELMESH_AUDIT_TOKEN/],
  ])('refuses %j as CONFIG_INVALID', (argv, message) => {
    expect(() => parseConfig(argv, noEnv)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(message) }));
  });

  it('reads the update and audit tokens from the environment; an empty one counts as unset', () => {
    const argv = ['--wait-for-push', '--audit-url', 'http://ledger/v1/audit/logs', '--decision-log', '/tmp/d.jsonl'];
    expect(parseConfig(argv, { POLICY_UPDATE_TOKEN: 'u', REELMESH_AUDIT_TOKEN: 'a' })).toMatchObject({
      waitForPush: true,
      updateToken: 'u',
      auditUrl: 'http://ledger/v1/audit/logs',
      auditToken: 'a',
      decisionLog: '/tmp/d.jsonl',
    });
    expect(() => parseConfig(['--wait-for-push'], { POLICY_UPDATE_TOKEN: '' })).toThrow(/needs POLICY_UPDATE_TOKEN/);
    expect(parseConfig([], { POLICY_UPDATE_TOKEN: '' }).updateToken).toBeUndefined();
  });

  it('keeps the signed-policy flags', () => {
    const config = parseConfig(['--bundle-key', 'k.pem', '--bundle-key-id', 'owner', '--bundle', 'b.tar.gz'], noEnv);
    expect(config).toMatchObject({ bundleKey: 'k.pem', bundleKeyId: 'owner', bundle: 'b.tar.gz' });
  });
});
