import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { policyDataJson, POLICY_DATA_FILE } from '@reelmesh/policy';
import { REPO_ROOT } from '@reelmesh/runtime';
import { parseWorkflow } from '@reelmesh/workflow';
import { MINI } from '@reelmesh/workflow/testing';
import { reelmesh } from './helpers';

// The policy sidecar takes policy data only (its bundle carries no workflow parser): this is how a
// user derives the data for a workflow file of their own.
describe('reelmesh gen --policy-data <workflow-file>', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reelmesh-policy-data-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints, for the repository\'s workflow, the bytes `reelmesh gen` commits as the policy data', async () => {
    const result = await reelmesh(['gen', '--policy-data', 'policies/workflow.yaml']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(readFileSync(join(REPO_ROOT, POLICY_DATA_FILE), 'utf8'));
  });

  it('prints another workflow\'s data (the mini one), writing nothing', async () => {
    const file = join(dir, 'mini.yaml');
    writeFileSync(file, MINI);
    const result = await reelmesh(['gen', '--policy-data', file]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(policyDataJson(parseWorkflow(MINI)));
    expect(result.stdout).not.toBe(readFileSync(join(REPO_ROOT, POLICY_DATA_FILE), 'utf8'));
  });

  it('a broken workflow file: one line naming the file, line and column, nothing on stdout', async () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'apiVersion: reelmesh.io/v1\nkind: Workflow\nmetadata: { id: x, title: t, trustDomain: d.local }\nsteps: []\n');
    const result = await reelmesh(['gen', '--policy-data', file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^reelmesh: error: .*broken\.yaml:\d+:\d+ /)]);
  });

  it('refuses --check or --list beside it', async () => {
    const result = await reelmesh(['gen', '--policy-data', 'policies/workflow.yaml', '--check']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim()).toBe('reelmesh: error: --policy-data takes no --check or --list');
  });
});
