import { describe, it, expect, afterEach } from 'vitest';
import { parseWorkflow, WorkflowError } from '@reelmesh/workflow';
import { MINI } from '@reelmesh/workflow/testing';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startLocalKms } from './server';
import { generateAgentCredentials, provisionWorkflowKeys, workflowKeyAlias } from './provision';
import { provisionOptionsFor, readProvisionOptions } from './workflow-agents';
import { tempDir } from './kms-test-support';

// The owner's actor is `studio` here (its agent is still called `owner`): a leftover default of
// 'owner' anywhere would name the wrong key.
const STUDIO_WORKFLOW = MINI.replace('{ name: owner, description: Owner }', '{ name: studio, description: Studio }').replace(
  '{ name: owner, actor: owner, app: owner }',
  '{ name: owner, actor: studio, app: owner }',
);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

describe('provisioning options from the workflow', () => {
  it('takes the owner actor from the source step (ownerOf), not from a default', () => {
    expect(provisionOptionsFor(parseWorkflow(STUDIO_WORKFLOW))).toEqual({
      agents: [
        { name: 'owner', actor: 'studio' },
        { name: 'fx-1', actor: 'fx' },
      ],
      ownerActor: 'studio',
    });
  });

  it('an explicit owner actor wins, and platform workloads join the agents', () => {
    const options = provisionOptionsFor(parseWorkflow(STUDIO_WORKFLOW), { ownerActor: 'fx', platformAgents: [{ name: 'ledger', actor: 'studio' }] });
    expect(options.ownerActor).toBe('fx');
    expect(options.agents.at(-1)).toEqual({ name: 'ledger', actor: 'studio' });
  });

  it('reads the file with the workflow loader, refusing what it refuses', async () => {
    const dir = await tempDir();
    cleanups.push(dir.cleanup);
    const file = join(dir.path, 'workflow.yaml');
    // Agents and actors are fine; the edge names a step that does not exist.
    await writeFile(file, STUDIO_WORKFLOW.replace('{ from: demux, to: assemble', '{ from: demux, to: grade'));
    const error = (() => {
      try {
        readProvisionOptions(file);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(WorkflowError);
    expect((error as WorkflowError).message).toContain('grade');
    await writeFile(file, STUDIO_WORKFLOW);
    expect(readProvisionOptions(file).ownerActor).toBe('studio');
  });

  it("provisions the owner's workflow key under the owner's actor", async () => {
    const dir = await tempDir();
    cleanups.push(dir.cleanup);
    const options = provisionOptionsFor(parseWorkflow(STUDIO_WORKFLOW));
    const kms = await startLocalKms({ dataDir: dir.path, principals: generateAgentCredentials(options.agents).principals });
    cleanups.push(() => kms.stop());
    const keys = await provisionWorkflowKeys(kms.admin, options);
    expect(keys.workflowKey.alias).toBe('alias/reelmesh/studio/workflow');
    expect(workflowKeyAlias('studio')).toBe(keys.workflowKey.alias);
    expect(Object.keys(keys.assetKeys)).toEqual(['fx']);
    expect(kms.admin.findKey('alias/reelmesh/owner/workflow')).toBeUndefined();
    expect(kms.admin.describeKey(keys.workflowKey.alias).policy.statements[0]).toMatchObject({ principals: ['agent/owner'] });
  });
});
