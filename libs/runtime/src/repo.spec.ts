import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadWorkflow, parseWorkflow } from '@reelmesh/workflow';
import { MINI } from '@reelmesh/workflow/testing';
import { assertWorkflowImplemented } from './repo';

describe('a workflow names only apps that exist (and jobs that are defined)', () => {
  it('passes for the workflow file in the repository', () => {
    expect(() => assertWorkflowImplemented(loadWorkflow())).not.toThrow();
  });

  it('names, in one line, each app without a program and the agents that run it', () => {
    // The mini workflow's `fx` app exists nowhere in apps/; its `owner` app does.
    const workflow = parseWorkflow(MINI);
    const message = (() => {
      try {
        assertWorkflowImplemented(workflow);
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

describe('every step job is defined: a filter job in the workflow or a module of its app', () => {
  const roots: string[] = [];
  afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));
  /** A repository root holding `files` (empty modules). */
  const repo = (...files: string[]) => {
    const root = mkdtempSync(join(tmpdir(), 'repo-'));
    roots.push(root);
    for (const file of files) {
      mkdirSync(dirname(join(root, file)), { recursive: true });
      writeFileSync(join(root, file), 'export {};\n');
    }
    return root;
  };
  const apps = ['apps/owner/src/main.ts', 'apps/fx/src/main.ts', 'apps/owner/src/jobs/split.ts', 'apps/owner/src/jobs/assemble.ts'];
  const messageOf = (root: string, text = MINI) => {
    try {
      assertWorkflowImplemented(parseWorkflow(text), root);
    } catch (error) {
      return (error as Error).message;
    }
    return 'no error';
  };

  it('passes when every module job file exists', () => {
    expect(messageOf(repo(...apps, 'apps/fx/src/jobs/demux.ts'))).toBe('no error');
  });

  it('names, in one line, the step whose job is neither, and how to add it', () => {
    const message = messageOf(repo(...apps));
    expect(message).toContain('step "demux" runs job "demux", which is neither a filter job in the workflow\'s jobs: section nor a module apps/fx/src/jobs/demux.ts');
    expect(message).toContain('Add it as a filter job (under jobs: - { name: demux, filter: "<ffmpeg filter graph>" }) or write apps/fx/src/jobs/demux.ts');
    expect(message).toContain('docs/contractors.md');
    expect(message).not.toContain('\n');
  });

  it('needs no module for a filter job', () => {
    const text = MINI.replace('{ name: demux, agent: fx-1, job: demux }', '{ name: demux, agent: fx-1, job: demux }\n  - { name: tint, agent: fx-1, job: tint }').replace(
      'edges:\n  - { from: split, to: demux, artifact: av }\n  - { from: demux, to: assemble, artifact: picture }',
      'jobs:\n  - { name: tint, filter: "hue=h=10" }\nedges:\n  - { from: split, to: demux, artifact: av }\n  - { from: demux, to: tint, artifact: picture }\n  - { from: tint, to: assemble, artifact: picture }',
    );
    expect(messageOf(repo(...apps, 'apps/fx/src/jobs/demux.ts'), text)).toBe('no error');
  });
});
