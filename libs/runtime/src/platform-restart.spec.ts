// The platform's real processes under supervision: the KMS, the control plane and a pod's sidecars
// come back from kill -9 where they were, with what others need from them; the KMS resumes a run.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, describe, expect, it } from 'vitest';
import { LEDGER_AGENT } from '@reelmesh/provenance';
import { DEFAULT_WORKFLOW_PATH, loadWorkflow, ownerOf } from '@reelmesh/workflow';
import { startKms, type RunningKms } from './kms';
import { planPod, startControlPlaneProcess, startPod, type MeshOptions } from './mesh';
import { ProcessGroup, type ManagedProcess, type ProcessGroupEvents } from './process-group';

const workflow = loadWorkflow(DEFAULT_WORKFLOW_PATH);
const owner = ownerOf(workflow);
const dir = mkdtempSync(join(tmpdir(), 'rm-pr-'));
const logDir = join(dir, 'logs');
mkdirSync(logDir);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FAST = { initialBackoffMs: 5, maxBackoffMs: 20 };

/** Kills a process with SIGKILL and resolves with its next incarnation's 'restarted' event (bounded). */
function killAndWait(group: ProcessGroup, p: ManagedProcess): Promise<ProcessGroupEvents['restarted'][0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${p.name} was not restarted`)), 60_000);
    const onCrashloop = (e: ProcessGroupEvents['crashloop'][0]) => reject(new Error(e.message));
    const onRestarted = (e: ProcessGroupEvents['restarted'][0]) => {
      if (e.name !== p.name) return;
      clearTimeout(timer);
      group.off('restarted', onRestarted).off('crashloop', onCrashloop);
      resolve(e);
    };
    group.on('restarted', onRestarted).on('crashloop', onCrashloop);
    process.kill(p.child.pid!, 'SIGKILL');
  });
}

function named(group: ProcessGroup, name: string): ManagedProcess {
  const p = group.processes.find((q) => q.name === name);
  if (!p) throw new Error(`no process ${name}`);
  return p;
}

async function kmsOn(group: ProcessGroup, stateDir: string): Promise<RunningKms> {
  return startKms({
    group, workflow, workflowPath: DEFAULT_WORKFLOW_PATH, ownerActor: owner.actor, stateDir, logDir,
    platformAgents: [{ name: LEDGER_AGENT, actor: owner.actor }],
  });
}

function clientOf(kms: RunningKms, agent: string): KMSClient {
  const s = kms.settingsFor(agent);
  return new KMSClient({ endpoint: s.endpoint, region: s.region, credentials: { accessKeyId: s.accessKeyId!, secretAccessKey: s.secretAccessKey! }, maxAttempts: 1 });
}

async function openAsOwner(kms: RunningKms, sealed: Uint8Array, context: Record<string, string>): Promise<string> {
  const client = clientOf(kms, owner.agent);
  try {
    const opened = await client.send(new DecryptCommand({ CiphertextBlob: sealed, EncryptionContext: context }));
    return Buffer.from(opened.Plaintext!).toString();
  } finally {
    client.destroy();
  }
}

describe('platform processes under supervision', () => {
  it('the KMS comes back from kill -9 on its endpoint with its keys, and a resumed run reuses its key store with new credentials', async () => {
    const stateDir = join(dir, 'kms');
    const context = { agent: owner.agent };
    let sealed: Uint8Array;
    let keysOfFirstRun: string | undefined;
    let firstAccessKey: string | undefined;
    const first = new ProcessGroup(FAST);
    try {
      const kms = await kmsOn(first, stateDir);
      keysOfFirstRun = kms.settingsFor(owner.agent).allowedKeyIds;
      firstAccessKey = kms.settingsFor(owner.agent).accessKeyId;
      const client = clientOf(kms, owner.agent);
      sealed = (await client.send(new EncryptCommand({ KeyId: kms.settingsFor(owner.agent).keyId, Plaintext: Buffer.from('kept'), EncryptionContext: context }))).CiphertextBlob!;
      client.destroy();

      const restarted = await killAndWait(first, named(first, 'kms'));
      expect(restarted.ready.endpoints.api).toBe(kms.endpoint);
      // Every agent keeps its settings: same endpoint, same credentials, same keys.
      expect(await openAsOwner(kms, sealed, context)).toBe('kept');
    } finally {
      await first.stop(2_000);
    }

    // A resumed run: the same state folder, new credentials, the keys (and what they sealed) kept.
    const second = new ProcessGroup(FAST);
    try {
      const kms = await kmsOn(second, stateDir);
      expect(kms.settingsFor(owner.agent).allowedKeyIds).toBe(keysOfFirstRun);
      expect(kms.settingsFor(owner.agent).accessKeyId).not.toBe(firstAccessKey);
      expect(await openAsOwner(kms, sealed, context)).toBe('kept');
    } finally {
      await second.stop(2_000);
    }
  });

  it('the control plane comes back on its port with the policy republished; a pod sidecar restarts where it was and its policy sidecar is registered again', async () => {
    const group = new ProcessGroup(FAST);
    const socketDir = mkdtempSync(join(tmpdir(), 'rm-pr-pods-'));
    try {
      const agent = workflow.agents.find((a) => a.name !== owner.agent)!;
      const opts: MeshOptions = { group, workflow, stateDir: join(dir, 'mesh'), logDir, audit: false };
      const cp = await startControlPlaneProcess(opts);
      const before = await cp.admin.policy();

      const cpRestarted = await killAndWait(group, named(group, 'control-plane'));
      expect(cpRestarted.ready.endpoints.api).toBe(cp.url);
      const after = await cp.admin.policy();
      expect(Number(after.bundle!.revision)).toBeGreaterThan(Number(before.bundle!.revision));

      mkdirSync(join(socketDir, agent.name), { mode: 0o700 });
      const plan = planPod(agent.name, { socketDir });
      const pod = await startPod({ ...opts, cp, actor: agent.actor, agent: agent.name, plan, app: async () => undefined });

      const proxyRestarted = await killAndWait(group, named(group, `${agent.name}/proxy`));
      expect(proxyRestarted.ready.endpoints.inbound).toBe(pod.inboundUrl);
      // 'restarted' fires after the afterReady hook: the store pushed the policy and the sidecar took it.
      const policyRestarted = await killAndWait(group, named(group, `${agent.name}/policy`));
      expect(policyRestarted.restarts).toBe(1);
      expect(group.restarts()).toEqual({ 'control-plane': 1, [`${agent.name}/proxy`]: 1, [`${agent.name}/policy`]: 1 });
    } finally {
      await group.stop(2_000);
      rmSync(socketDir, { recursive: true, force: true });
    }
  });
});
