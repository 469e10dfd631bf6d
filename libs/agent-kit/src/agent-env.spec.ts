import { describe, expect, it } from 'vitest';
import { MINI } from '@reelmesh/workflow/testing';
import { parseWorkflow } from '@reelmesh/workflow';
import { agentEnvironment, literalEnvironment, type AgentPlatform } from './agent-env';
import { agentConfigFromEnv } from './config';

const wf = parseWorkflow(MINI);
const platform: AgentPlatform = {
  workflowPath: '/app/policies/workflow.yaml',
  dataDir: '/var/lib/reelmesh/objects',
  listen: '127.0.0.1:8080',
  next: { outboundProxy: 'http://127.0.0.1:15001' },
  ownerDirs: { ingest: '/var/lib/reelmesh/ingest', export: '/var/lib/reelmesh/export' },
  kms: { endpoint: 'http://kms:8443', region: 'eu-west-1', keyId: 'alias/x', accessKeyId: { from: 'secret', name: 'creds', key: 'id' } },
};

describe('the agent environment contract', () => {
  it('gives the owner (the source step agent) its folders and two jobs at once; a contractor neither', () => {
    const owner = agentEnvironment(wf, 'owner', platform);
    expect(owner).toMatchObject({ REELMESH_INGEST_DIR: '/var/lib/reelmesh/ingest', REELMESH_EXPORT_DIR: '/var/lib/reelmesh/export', REELMESH_CONCURRENCY: '2' });
    const contractor = agentEnvironment(wf, 'fx-1', platform);
    expect(contractor).not.toHaveProperty('REELMESH_INGEST_DIR');
    expect(contractor).not.toHaveProperty('REELMESH_EXPORT_DIR');
    expect(contractor.REELMESH_CONCURRENCY).toBe('1');
    expect(contractor.REELMESH_KMS_ACCESS_KEY_ID).toEqual({ from: 'secret', name: 'creds', key: 'id' });
  });

  it('is read back by the agent as the same configuration (writer and reader agree)', () => {
    const env = literalEnvironment(agentEnvironment(wf, 'owner', { ...platform, kms: { region: 'eu-west-1', keyId: 'alias/x', accessKeyId: 'AK', secretAccessKey: 'SK', allowedKeyIds: 'arn:a,arn:b' } }));
    expect(agentConfigFromEnv(env)).toMatchObject({
      agent: 'owner',
      workflowPath: '/app/policies/workflow.yaml',
      dataDir: '/var/lib/reelmesh/objects',
      listen: '127.0.0.1:8080',
      outboundProxy: 'http://127.0.0.1:15001',
      concurrency: 2,
      ingestDir: '/var/lib/reelmesh/ingest',
      exportDir: '/var/lib/reelmesh/export',
      kms: { region: 'eu-west-1', keyId: 'alias/x', accessKeyId: 'AK', secretAccessKey: 'SK', allowedKeyIds: ['arn:a', 'arn:b'] },
    });
    const token = 'p'.repeat(43);
    const pod = literalEnvironment(agentEnvironment(wf, 'fx-1', { ...platform, kms: undefined, podToken: token }));
    expect(pod.REELMESH_POD_TOKEN).toBe(token);
    expect(agentConfigFromEnv(pod)).toMatchObject({ agent: 'fx-1', outboundProxy: 'http://127.0.0.1:15001', podToken: token });
    const plain = literalEnvironment(agentEnvironment(wf, 'fx-1', { ...platform, kms: undefined, next: { peers: { owner: 'unix:/run/owner.sock' } } }));
    expect(plain).not.toHaveProperty('REELMESH_POD_TOKEN');
    expect(agentConfigFromEnv(plain)).toMatchObject({ agent: 'fx-1', peers: { owner: 'unix:/run/owner.sock' } });
  });

  it('refuses an agent the workflow does not declare, and references where values are needed', () => {
    expect(() => agentEnvironment(wf, 'nobody', platform)).toThrow(/unknown agent "nobody"/);
    expect(() => literalEnvironment(agentEnvironment(wf, 'owner', platform))).toThrow(/REELMESH_KMS_ACCESS_KEY_ID refers to secret creds\/id/);
  });
});
