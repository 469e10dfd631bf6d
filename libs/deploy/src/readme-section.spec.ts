// The README's agent table is generated from the workflow between two markers (`reelmesh gen`),
// and the committed README holds exactly what the committed workflow renders.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseWorkflow } from '@reelmesh/workflow';
import { MINI } from '@reelmesh/workflow/testing';
import { renderGeneratedFiles, writeGeneratedFiles } from './deploy-files';
import { README_AGENTS_END, README_AGENTS_START, renderReadmeAgents } from './readme-section';
import { REPO_ROOT, workflow } from './test-support';

const mini = parseWorkflow(MINI);
const temps: string[] = [];
afterAll(() => temps.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
const readme = (inside: string) => `# Title\n\nBefore.\n\n${README_AGENTS_START}\n${inside}${README_AGENTS_END}\n\nAfter.\n`;

describe('the README agent table (reelmesh gen)', () => {
  it('renders one row per agent between the markers, leaving the rest of the README alone', () => {
    expect(renderReadmeAgents(mini, readme('| stale | rows |\n'))).toBe(
      readme(
        [
          '| agent | app | actor | steps (job) | actor |',
          '|---|---|---|---|---|',
          '| owner | `apps/owner` | owner | split (split), assemble (assemble) | Owner |',
          '| fx-1 | `apps/fx` | fx | demux (demux) | Effects |',
          '',
        ].join('\n'),
      ),
    );
    // Rendering again changes nothing.
    const once = renderReadmeAgents(mini, readme(''));
    expect(renderReadmeAgents(mini, once)).toBe(once);
  });

  it('escapes a pipe in a description so the table keeps its columns', () => {
    const piped = parseWorkflow(MINI.replace('{ name: fx, description: Effects }', '{ name: fx, description: "Effects | sound" }'));
    expect(renderReadmeAgents(piped, readme(''))).toContain('| demux (demux) | Effects \\| sound |');
  });

  it('refuses a README without the markers, with them twice, or without the end marker', () => {
    expect(() => renderReadmeAgents(mini, '# no markers\n')).toThrow(`expected the line ${README_AGENTS_START} once, found it 0 times`);
    expect(() => renderReadmeAgents(mini, readme('') + readme(''))).toThrow('found it 2 times');
    expect(() => renderReadmeAgents(mini, `${README_AGENTS_START}\n| row |\n`)).toThrow(`no line ${README_AGENTS_END}`);
  });

  it('is one of the files gen renders, written only when the table changed, and skipped where there is no README', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reelmesh-readme-'));
    temps.push(dir);
    writeFileSync(join(dir, 'README.md'), readme('| stale |\n'));
    expect(writeGeneratedFiles(dir, mini).written).toContain('README.md');
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toBe(renderReadmeAgents(mini, readme('')));
    expect(writeGeneratedFiles(dir, mini).written).toEqual([]);
    expect(renderGeneratedFiles(mini, () => undefined).map((file) => file.path)).not.toContain('README.md');
  });

  it("is fresh: the committed README's table is the committed workflow's (run `reelmesh gen`)", () => {
    const readmeText = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    expect(renderReadmeAgents(workflow(), readmeText) === readmeText, 'README.md agent table is stale: run `reelmesh gen`').toBe(true);
  });
});
