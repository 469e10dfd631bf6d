import { describe, expect, it } from 'vitest';
import { MINI } from '@reelmesh/workflow/testing';
import { ownerOf, parseWorkflow } from '@reelmesh/workflow';
import { agentEnvironment, agentKmsKeys, literalEnvironment, type AgentPlatform } from './agent-env';
import { agentConfigFromEnv } from './config';
import { auditTrailFromEnv } from './serve';

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

  it('gives the control plane without a bootstrap token where the control plane knows pods by mesh identity, and the audit address', async () => {
    const audit = { url: 'http://127.0.0.1:15002/v1/audit/events' };
    const mesh = agentEnvironment(wf, 'fx-1', { ...platform, kms: undefined, identity: { controlPlane: 'http://127.0.0.1:15002' }, audit });
    expect(mesh).toMatchObject({ REELMESH_CONTROL_PLANE: 'http://127.0.0.1:15002', REELMESH_AUDIT_URL: audit.url });
    expect(mesh).not.toHaveProperty('REELMESH_BOOTSTRAP_TOKEN');
    expect(mesh).not.toHaveProperty('REELMESH_AUDIT_TOKEN');
    const tokens = agentEnvironment(wf, 'fx-1', { ...platform, identity: { controlPlane: 'http://cp', bootstrapToken: { from: 'secret', name: 'fx-1', key: 'token' } }, audit: { ...audit, token: 'a'.repeat(43) } });
    expect(tokens).toMatchObject({ REELMESH_BOOTSTRAP_TOKEN: { from: 'secret', name: 'fx-1', key: 'token' }, REELMESH_AUDIT_TOKEN: 'a'.repeat(43) });
    // Read back by the agent: it ships its audit events to that address (no token: as its mesh identity).
    const trail = auditTrailFromEnv(literalEnvironment(mesh));
    expect(trail).toBeDefined();
    await trail!.close();
    expect(auditTrailFromEnv(literalEnvironment(agentEnvironment(wf, 'fx-1', { ...platform, kms: undefined })))).toBeUndefined();
  });

  it("names an agent's KMS keys from the workflow: the workflow key for all, an asset key for contractor actors only", () => {
    const refs = { workflowKey: 'alias/reelmesh/wf', assetKey: (actor: string) => `alias/reelmesh/${actor}/assets` };
    const ownerActor = ownerOf(wf).actor;
    for (const agent of wf.agents) {
      const keys = agentKmsKeys(wf, agent.name, refs);
      if (agent.actor === ownerActor) {
        expect(keys).toEqual({ keyId: refs.workflowKey, allowedKeyIds: [refs.workflowKey] });
      } else {
        const asset = refs.assetKey(agent.actor);
        expect(keys).toEqual({ keyId: refs.workflowKey, allowedKeyIds: [refs.workflowKey, asset], assetKeyId: asset });
      }
    }
    expect(() => agentKmsKeys(wf, 'nobody', refs)).toThrow(/unknown agent "nobody"/);
    // As the environment carries them, read back by the agent (no access keys: the SDK's default chain).
    const contractor = wf.agents.find((a) => a.actor !== ownerActor)!;
    const { keyId, allowedKeyIds, assetKeyId } = agentKmsKeys(wf, contractor.name, refs);
    const env = literalEnvironment(agentEnvironment(wf, contractor.name, { ...platform, kms: { region: 'eu-west-1', keyId, allowedKeyIds: allowedKeyIds.join(','), assetKeyId } }));
    expect(agentConfigFromEnv(env).kms).toEqual({ region: 'eu-west-1', keyId, allowedKeyIds, assetKeyId });
  });

  it('refuses an access key id without its secret (and the reverse)', () => {
    const half = literalEnvironment(agentEnvironment(wf, 'owner', { ...platform, kms: { region: 'r', keyId: 'k', allowedKeyIds: 'k', accessKeyId: 'AK' } }));
    expect(() => agentConfigFromEnv(half)).toThrow(/secretAccessKey/);
    const otherHalf = literalEnvironment(agentEnvironment(wf, 'owner', { ...platform, kms: { region: 'r', keyId: 'k', allowedKeyIds: 'k', secretAccessKey: 'SK' } }));
    expect(() => agentConfigFromEnv(otherHalf)).toThrow(/accessKeyId/);
  });
});
