import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseWorkflow } from '@reelmesh/workflow';
import { MINI } from '@reelmesh/workflow/testing';
import { addFilterJob, appendEntry, flowEntry, insertEntryAfter, JOBS_COMMENT, removeFilterJob, replaceEntry, sectionOf } from './workflow-edit';

// MINI has one-line flow entries and no blank lines between sections: the edits must follow that.
const EDGE = { from: 'demux', to: 'assemble', artifact: 'picture' };

function addSubs(text: string): string {
  let edited = appendEntry(text, 'actors', { name: 'subs', description: 'Contractor subs' });
  edited = appendEntry(edited, 'agents', { name: 'subs', actor: 'subs', app: 'subs' });
  edited = insertEntryAfter(edited, 'steps', 'demux', { name: 'subs', agent: 'subs', job: 'subs' });
  edited = addFilterJob(edited, { name: 'subs', filter: 'drawtext=text="a, b: c"' });
  return replaceEntry(edited, 'edges', (v) => v.from === EDGE.from && v.to === EDGE.to, [
    { from: 'demux', to: 'subs', artifact: 'picture' },
    { from: 'subs', to: 'assemble', artifact: 'picture' },
  ]);
}

function removeSubs(text: string): string {
  let edited = replaceEntry(text, 'edges', (v) => v.from === 'demux' && v.to === 'subs', [EDGE]);
  edited = replaceEntry(edited, 'edges', (v) => v.from === 'subs', []);
  edited = removeFilterJob(edited, 'subs');
  edited = replaceEntry(edited, 'steps', (v) => v.name === 'subs', []);
  edited = replaceEntry(edited, 'agents', (v) => v.name === 'subs', []);
  return replaceEntry(edited, 'actors', (v) => v.name === 'subs', []);
}

describe('workflow line edits', () => {
  it('add writes each entry as a one-line flow mapping in place, and the result is a valid workflow', () => {
    const edited = addSubs(MINI);
    const lines = edited.split('\n');
    expect(lines).toContain('  - { name: subs, description: Contractor subs }');
    expect(lines).toContain('  - { name: subs, agent: subs, job: subs }');
    expect(lines.indexOf('  - { name: subs, agent: subs, job: subs }')).toBe(lines.indexOf('  - { name: demux, agent: fx-1, job: demux }') + 1);
    // No blank lines in MINI, so none added: comment, key, entry, right before edges:.
    const jobs = lines.indexOf('jobs:');
    expect(lines.slice(jobs - 1, jobs + 3)).toEqual([JOBS_COMMENT, 'jobs:', '  - { name: subs, filter: "drawtext=text=\\"a, b: c\\"" }', 'edges:']);
    const workflow = parseWorkflow(edited);
    expect(workflow.jobs).toEqual([{ name: 'subs', filter: 'drawtext=text="a, b: c"' }]);
    expect(workflow.edges).toEqual([
      { from: 'split', to: 'demux', artifact: 'av' },
      { from: 'demux', to: 'subs', artifact: 'picture' },
      { from: 'subs', to: 'assemble', artifact: 'picture' },
    ]);
  });

  it('remove is the exact inverse of add', () => {
    expect(removeSubs(addSubs(MINI))).toBe(MINI);
  });

  it('a jobs: section is created after a blank line, with one after, when the file separates sections so; and removed with them', () => {
    const spaced = MINI.replace('\nedges:', '\n\n# The edges.\nedges:');
    const edited = addFilterJob(spaced, { name: 'subs', filter: 'null' });
    expect(edited).toContain(`\n\n${JOBS_COMMENT}\njobs:\n  - { name: subs, filter: "null" }\n\n# The edges.\nedges:`);
    expect(removeFilterJob(edited, 'subs')).toBe(spaced);
  });

  it('an existing jobs: section gets the entry appended, and keeps its other entries on removal', () => {
    const once = addFilterJob(MINI, { name: 'one', filter: 'null' });
    const twice = addFilterJob(once, { name: 'two', filter: 'hflip' });
    expect(sectionOf(twice, 'jobs')?.items.map((item) => item.value.name)).toEqual(['one', 'two']);
    expect(removeFilterJob(twice, 'two')).toBe(once);
  });

  it('a block-style list gets a block-style entry', () => {
    const block = MINI.replace('  - { name: owner, description: Owner }\n  - { name: fx, description: Effects }', '  - name: owner\n    description: Owner\n  - name: fx\n    description: Effects');
    const edited = appendEntry(block, 'actors', { name: 'subs', description: 'Contractor subs' });
    expect(edited).toContain('    description: Effects\n  - name: subs\n    description: Contractor subs\nagents:');
    expect(replaceEntry(edited, 'actors', (v) => v.name === 'subs', [])).toBe(block);
  });

  it('flowEntry quotes what YAML would not read back as the same string', () => {
    for (const value of ['true', 'null', 'a: b', 'x, y', '"q"', '#c', '[1]', 'Contractor subs', 'plain-name']) {
      expect(parse(flowEntry({ value }))).toEqual({ value });
    }
    expect(flowEntry({ name: 'subs', source: true })).toBe('{ name: subs, source: true }');
  });
});
