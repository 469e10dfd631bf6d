import { describe, expect, it } from 'vitest';
import { loadWorkflow, parseWorkflow } from '@reelmesh/workflow';
import { MINI } from '@reelmesh/workflow/testing';
import { assertAgentAppsExist } from './repo';

describe('a workflow names only apps that exist', () => {
  it('passes for the workflow file in the repository', () => {
    expect(() => assertAgentAppsExist(loadWorkflow())).not.toThrow();
  });

  it('names, in one line, each app without a program and the agents that run it', () => {
    // The mini workflow's `fx` app exists nowhere in apps/; its `owner` app does.
    const workflow = parseWorkflow(MINI);
    const message = (() => {
      try {
        assertAgentAppsExist(workflow);
      } catch (error) {
        return (error as Error).message;
      }
      return 'no error';
    })();
    expect(message).toContain('app "fx" (agent fx-1) has no apps/fx/src/main.ts');
    expect(message).not.toContain('app "owner"');
    expect(message).not.toContain('\n');
  });
});
