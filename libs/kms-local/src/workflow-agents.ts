import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import type { WorkflowAgentRef } from './provision';

/** The `agents` list (name, actor) of a workflow file: all that key provisioning needs from it. */
export async function readWorkflowAgents(file: string): Promise<WorkflowAgentRef[]> {
  const doc = parse(await readFile(file, 'utf8')) as { agents?: unknown } | null;
  const agents = doc?.agents;
  if (!Array.isArray(agents) || agents.length === 0) throw new Error(`${file}: no agents list`);
  return agents.map((agent, i) => {
    const { name, actor } = (agent ?? {}) as Record<string, unknown>;
    if (typeof name !== 'string' || typeof actor !== 'string') {
      throw new Error(`${file}: agents[${i}] needs string name and actor`);
    }
    return { name, actor };
  });
}
