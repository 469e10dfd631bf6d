// The README's agent table, generated from the workflow by `reelmesh gen` between two markers and
// checked by `reelmesh gen --check`: the README never lists agents, apps, actors or steps by hand.
import type { Workflow } from '@reelmesh/workflow';

export const README_FILE = 'README.md';
export const README_AGENTS_START = '<!-- reelmesh gen: agents -->';
export const README_AGENTS_END = '<!-- /reelmesh gen -->';

/** One Markdown table cell: pipes escaped, on one line. */
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

/** The table: one row per agent, in workflow order, with its app, actor, steps (job) and the actor's description. */
export function readmeAgentsTable(wf: Workflow): string {
  const actors = new Map(wf.actors.map((actor) => [actor.name, actor]));
  const rows = wf.agents.map((agent) => {
    const steps = wf.steps.filter((step) => step.agent === agent.name).map((step) => `${step.name} (${step.job})`);
    return `| ${cell(agent.name)} | \`apps/${agent.app}\` | ${cell(agent.actor)} | ${cell(steps.join(', '))} | ${cell(actors.get(agent.actor)?.description ?? '')} |`;
  });
  return ['| agent | app | actor | steps (job) | actor |', '|---|---|---|---|---|', ...rows].join('\n');
}

/**
 * `readme` with the text between README_AGENTS_START and README_AGENTS_END (each alone on its line)
 * replaced by the workflow's agent table. Refuses a README without exactly one pair of markers.
 */
export function renderReadmeAgents(wf: Workflow, readme: string): string {
  const start = readme.split(`${README_AGENTS_START}\n`);
  if (start.length !== 2) throw new Error(`${README_FILE}: expected the line ${README_AGENTS_START} once, found it ${start.length - 1} times`);
  const end = start[1].indexOf(`${README_AGENTS_END}\n`);
  if (end < 0) throw new Error(`${README_FILE}: no line ${README_AGENTS_END} after ${README_AGENTS_START}`);
  return `${start[0]}${README_AGENTS_START}\n${readmeAgentsTable(wf)}\n${start[1].slice(end)}`;
}
