import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import { filterJobOf, loadWorkflow, moduleJobs, parseWorkflow, validateWorkflow, WorkflowError, type WorkflowIssue } from './index';
import { insertAfter, MINI, positionOf, replaceLine } from './mini-workflow.test-util';

/** Parses text that must fail and returns the WorkflowError. */
function failure(text: string, file = 'w.yaml'): WorkflowError {
  try {
    parseWorkflow(text, file);
  } catch (error) {
    expect(error).toBeInstanceOf(WorkflowError);
    expect((error as WorkflowError).code).toBe('WORKFLOW_INVALID');
    return error as WorkflowError;
  }
  throw new Error('expected parseWorkflow to fail');
}

/** The single issue of a failing parse. */
function onlyIssue(text: string): WorkflowIssue {
  const { issues } = failure(text);
  expect(issues).toHaveLength(1);
  return issues[0];
}

describe('the mini fixture', () => {
  it('is valid, so every failure below is caused by its one edit', () => {
    expect(parseWorkflow(MINI).metadata.id).toBe('mini');
  });
});

describe('YAML and document shape', () => {
  it('reports invalid YAML syntax with its position', () => {
    const issue = onlyIssue(replaceLine(8, '  deinterlace: bwdif: 3'));
    expect(issue).toMatchObject({ path: '', line: 8, column: 16 });
    expect(issue.message).toMatch(/^invalid YAML: Nested mappings/);
  });

  it('reports a duplicate key as invalid YAML at the second key', () => {
    const issue = onlyIssue(insertAfter(8, '  deinterlace: yadif'));
    expect(issue).toMatchObject({ path: '', line: 9, column: 3, message: 'invalid YAML: Map keys must be unique' });
  });

  it('rejects tags it does not know instead of guessing', () => {
    expect(onlyIssue(replaceLine(5, '  chunkSeconds: !fps 25'))).toMatchObject({ line: 5, message: 'invalid YAML: Unresolved tag: !fps' });
  });

  it('stops alias bombs with a clear error', () => {
    const bomb = 'a: &a [1,2,3,4,5,6,7,8,9]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n';
    expect(onlyIssue(bomb).message).toMatch(/^cannot read YAML: Excessive alias count/);
  });

  it('rejects an empty file', () => {
    expect(onlyIssue('')).toEqual({ path: '', line: 1, column: 1, message: 'file is empty (expected a workflow mapping)' });
    expect(onlyIssue('# nothing but a comment\n').message).toMatch(/^file is empty/);
  });

  it('rejects a document that is not a mapping', () => {
    expect(onlyIssue('- apiVersion: reelmesh.io/v1\n')).toMatchObject({ path: '', line: 1, column: 1 });
    expect(onlyIssue('- a\n').message).toMatch(/must be a mapping .* got a list$/);
    expect(onlyIssue('just words\n').message).toMatch(/got "just words"$/);
  });

  it('rejects a wrong apiVersion and kind', () => {
    const { issues } = failure(replaceLine(1, 'apiVersion: reelmesh.io/v2').replace('kind: Workflow', 'kind: Pipeline'));
    expect(issues).toEqual([
      { path: 'apiVersion', line: 1, column: 13, message: 'must be "reelmesh.io/v1" (got "reelmesh.io/v2")' },
      { path: 'kind', line: 2, column: 7, message: 'must be "Workflow" (got "Pipeline")' },
    ]);
  });
});

describe('schema', () => {
  it('names a missing required field and points at its parent', () => {
    const issue = onlyIssue(replaceLine(24, '  - { from: demux, to: assemble }'));
    expect(issue).toEqual({ path: 'edges[1].artifact', line: 24, column: 5, message: 'missing required field "artifact"' });
  });

  it('names a missing top-level section', () => {
    const text = MINI.replace(/^edges:[\s\S]*$/m, '');
    expect(onlyIssue(text)).toMatchObject({ path: 'edges', line: 1, column: 1, message: 'missing required field "edges"' });
  });

  it('rejects unknown fields at the key', () => {
    const text = replaceLine(17, '  - { name: fx-1, actor: fx, app: fx, replicas: 2 }');
    const issue = onlyIssue(text);
    expect(issue).toMatchObject({ path: 'agents[1].replicas', ...positionOf(text, 'replicas') });
    expect(issue.message).toBe('unknown field "replicas" (allowed: name, actor, app, role)');
  });

  it('rejects names that are not DNS labels', () => {
    const text = replaceLine(17, '  - { name: Fx_1, actor: fx, app: fx }');
    const issue = onlyIssue(text);
    expect(issue).toMatchObject({ path: 'agents[1].name', ...positionOf(text, 'Fx_1') });
    expect(issue.message).toMatch(/^"Fx_1" is not a DNS-label name/);
    expect(onlyIssue(replaceLine(24, `  - { from: demux, to: assemble, artifact: ${'a'.repeat(64)} }`)).path).toBe('edges[1].artifact');
  });

  it('takes any job name that is a DNS label (jobs are open), and rejects one that is not', () => {
    expect(parseWorkflow(replaceLine(20, '  - { name: demux, agent: fx-1, job: transcode }')).steps[1].job).toBe('transcode');
    const text = replaceLine(20, '  - { name: demux, agent: fx-1, job: Trans_code }');
    expect(onlyIssue(text)).toMatchObject({ path: 'steps[1].job', ...positionOf(text, 'Trans_code'), message: expect.stringMatching(/^"Trans_code" is not a DNS-label name/) });
  });

  it('rejects a filter job whose filter is empty or spans lines', () => {
    const text = withTint('').replace('filter: "hue=h=10"', 'filter: ""');
    expect(onlyIssue(text)).toMatchObject({ path: 'jobs[0].filter', message: 'must not be empty' });
    expect(onlyIssue(withTint('').replace('filter: "hue=h=10"', 'filter: "hue=h=10\\nnull"'))).toMatchObject({ path: 'jobs[0].filter', message: expect.stringContaining('an ffmpeg filter graph on one line') });
  });

  it('rejects non-positive and malformed numbers', () => {
    const text = replaceLine(5, '  chunkSeconds: 0').replace('crf: 28', 'crf: -1').replace(
      'deinterlace: bwdif',
      'deinterlace: bwdif\n  delivery: { x265: { preset: ultrafast, crf: 28 }, conform: { resolution: { width: 321, height: 240 }, scaler: lanczos, audio: { channels: two } } }',
    );
    const issues = failure(text.replace('  delivery: { x265: { preset: ultrafast, crf: -1 } }\n', '')).issues;
    expect(issues.map((i) => [i.path, i.message])).toEqual([
      ['media.chunkSeconds', 'must be >= 1 (got 0)'],
      ['media.delivery.conform.resolution.width', 'must be a multiple of 2 (got 321)'],
      ['media.delivery.conform.audio.channels', '"two" is not 1 (mono), 2 (stereo) or 6 (5.1) (known: 1, 2, 6)'],
    ]);
  });

  it('rejects a LUT path that climbs out of the assets', () => {
    const text = replaceLine(10, '  lut: { ref: ../../etc/look.cube, size: 17 }');
    expect(onlyIssue(text)).toMatchObject({ path: 'media.lut.ref', line: 10, message: expect.stringMatching(/without "\.\." segments/) });
  });

  it('rejects an empty list', () => {
    expect(onlyIssue(MINI.replace(/^edges:[\s\S]*$/m, 'edges: []\n'))).toMatchObject({ path: 'edges', line: 22, column: 8, message: 'must list at least 1 item' });
  });
});

/** MINI with a filter-job step `tint` (fx-1) between demux and assemble; `extra` is added to its jobs. */
function withTint(extra: string): string {
  return insertAfter(20, '  - { name: tint, agent: fx-1, job: tint }').replace(
    'edges:\n  - { from: split, to: demux, artifact: av }\n  - { from: demux, to: assemble, artifact: picture }',
    `jobs:\n  - { name: tint, filter: "hue=h=10" }\n${extra}edges:\n  - { from: split, to: demux, artifact: av }\n  - { from: demux, to: tint, artifact: picture }\n  - { from: tint, to: assemble, artifact: picture }`,
  );
}

describe('filter jobs', () => {
  it('reads a filter job a step runs', () => {
    const wf = parseWorkflow(withTint(''));
    expect(wf.jobs).toEqual([{ name: 'tint', filter: 'hue=h=10' }]);
    expect(filterJobOf(wf, 'tint')).toEqual({ name: 'tint', filter: 'hue=h=10' });
    expect(filterJobOf(wf, 'demux')).toBeUndefined();
    expect(moduleJobs(wf).map((j) => j.file)).toEqual(['apps/owner/src/jobs/split.ts', 'apps/fx/src/jobs/demux.ts', 'apps/owner/src/jobs/assemble.ts']);
  });

  it('rejects a filter job no step runs, and a duplicate', () => {
    const text = withTint('  - { name: unused, filter: "null" }\n  - { name: tint, filter: "null" }\n');
    expect(failure(text).issues.map((i) => [i.path, i.message])).toEqual([
      ['jobs[1].name', 'filter job "unused" is declared but no step runs it (remove it, or name it in a step\'s job)'],
      ['jobs[2].name', 'duplicate job name "tint" (first defined at jobs[0])'],
    ]);
  });

  it('rejects a filter job on a step that does not take one artifact and hand on the same one', () => {
    const text = withTint('').replace('{ name: demux, agent: fx-1, job: demux }', '{ name: demux, agent: fx-1, job: tint }').replace('{ name: tint, agent: fx-1, job: tint }', '{ name: tint, agent: fx-1, job: demux }');
    expect(onlyIssue(text)).toMatchObject({
      path: 'steps[1].job',
      message: expect.stringMatching(/^step "demux" runs filter job "tint", which takes one input artifact and hands on that same artifact \(this step receives av and hands on picture\); write a job module/),
    });
  });
});

describe('semantic checks', () => {
  it('rejects duplicate actor, agent and step names', () => {
    const text = insertAfter(20, '  - { name: demux, agent: fx-1, job: demux }')
      .replace('  - { name: fx-1, actor: fx, app: fx }', '  - { name: fx-1, actor: fx, app: fx }\n  - { name: owner, actor: fx, app: fx }')
      .replace('  - { name: fx, description: Effects }', '  - { name: fx, description: Effects }\n  - { name: fx, description: Again }');
    const { issues } = failure(text);
    expect(issues).toEqual([
      { path: 'actors[2].name', line: 15, column: 13, message: 'duplicate actor name "fx" (first defined at actors[1])' },
      { path: 'agents[2].name', line: 19, column: 13, message: 'duplicate agent name "owner" (first defined at agents[0])' },
      { path: 'steps[2].name', line: 23, column: 13, message: 'duplicate step name "demux" (first defined at steps[1])' },
    ]);
  });

  it('rejects an agent of an unknown actor', () => {
    const text = replaceLine(17, '  - { name: fx-1, actor: vfx, app: fx }');
    expect(onlyIssue(text)).toEqual({ path: 'agents[1].actor', line: 17, column: 26, message: 'unknown actor "vfx" (known: owner, fx)' });
  });

  it('rejects a step on an unknown agent', () => {
    const text = replaceLine(20, '  - { name: demux, agent: fx-2, job: demux }');
    expect(onlyIssue(text)).toEqual({ path: 'steps[1].agent', ...positionOf(text, 'fx-2'), message: 'unknown agent "fx-2" (known: owner, fx-1)' });
  });

  it('rejects an edge to nowhere and an edge from nowhere', () => {
    const text = replaceLine(24, '  - { from: demix, to: asemble, artifact: picture }');
    expect(failure(text).issues).toEqual([
      { path: 'edges[1].from', line: 24, column: 13, message: 'unknown step "demix" (known: split, demux, assemble)' },
      { path: 'edges[1].to', line: 24, column: 24, message: 'unknown step "asemble" (known: split, demux, assemble)' },
    ]);
  });

  it('names a cycle in the step graph', () => {
    const text = insertAfter(
      24,
      '  - { from: demux, to: review, artifact: picture }',
      '  - { from: review, to: demux, artifact: notes }',
    ).replace('  - { name: assemble,', '  - { name: review, agent: fx-1, job: picture-fx }\n  - { name: assemble,');
    expect(onlyIssue(text)).toEqual({ path: 'edges[3]', line: 27, column: 5, message: 'cycle in the step graph: demux -> review -> demux' });
  });

  it('names a self-loop as a cycle', () => {
    const text = insertAfter(24, '  - { from: demux, to: demux, artifact: again }');
    expect(onlyIssue(text)).toMatchObject({ path: 'edges[2]', line: 25, message: 'cycle in the step graph: demux -> demux' });
  });

  it('rejects a non-source step nobody feeds', () => {
    const text = insertAfter(21, '  - { name: orphan, agent: fx-1, job: sound-fx }').concat('  - { from: orphan, to: assemble, artifact: sound }\n');
    expect(onlyIssue(text)).toEqual({ path: 'steps[3]', line: 22, column: 5, message: 'step "orphan" is not a source but no edge feeds it' });
  });

  it('rejects a non-sink step nobody consumes', () => {
    const text = insertAfter(21, '  - { name: dead-end, agent: fx-1, job: sound-fx }').concat('  - { from: demux, to: dead-end, artifact: sound }\n');
    expect(onlyIssue(text)).toEqual({ path: 'steps[3]', line: 22, column: 5, message: 'step "dead-end" is not a sink but no edge consumes its output' });
  });

  it('rejects the same artifact name into one step twice', () => {
    const text = insertAfter(24, '  - { from: split, to: assemble, artifact: picture }');
    expect(onlyIssue(text)).toEqual({
      path: 'edges[2].artifact',
      ...positionOf(text, 'picture', 25),
      message: 'step "assemble" already receives artifact "picture" (from edges[1])',
    });
  });

  it('rejects a source step with inputs', () => {
    const text = insertAfter(21, '  - { name: titles, agent: owner, job: split, source: true }').concat(
      '  - { from: titles, to: demux, artifact: titles }\n',
      '  - { from: split, to: titles, artifact: av }\n',
    );
    expect(onlyIssue(text)).toEqual({ path: 'edges[3].to', ...positionOf(text, 'titles, artifact: av'), message: 'source step "titles" cannot have inputs' });
  });

  it('rejects a sink step with outputs', () => {
    const text = insertAfter(21, '  - { name: archive, agent: owner, job: assemble, sink: true }').concat(
      '  - { from: assemble, to: archive, artifact: final }\n',
    );
    expect(onlyIssue(text)).toEqual({ path: 'edges[2].from', line: 26, column: 13, message: 'sink step "assemble" cannot have outputs' });
  });

  it('rejects a step that is both source and sink', () => {
    const text = replaceLine(19, '  - { name: split, agent: owner, job: split, source: true, sink: true }');
    expect(failure(text).issues).toEqual([
      { path: 'steps[0]', line: 19, column: 5, message: 'step "split" cannot be both source and sink' },
      { path: 'edges[0].from', line: 23, column: 13, message: 'sink step "split" cannot have outputs' },
    ]);
  });

  it('reports graph-shape issues together with a source that has inputs', () => {
    const text = insertAfter(24, '  - { from: demux, to: split, artifact: back }');
    expect(failure(text).issues).toEqual([
      { path: 'edges[2]', line: 25, column: 5, message: 'cycle in the step graph: split -> demux -> split' },
      { path: 'edges[2].to', line: 25, column: 24, message: 'source step "split" cannot have inputs' },
    ]);
  });
});

describe('error message', () => {
  it('lists every issue, one per line, as file:line:column path: message', () => {
    const text = replaceLine(24, '  - { from: demux, to: asemble, artifact: picture }').replace('agent: fx-1, job: demux', 'agent: fx-9, job: demux');
    const error = failure(text, 'policies/workflow.yaml');
    expect(error.message).toBe(
      [
        'policies/workflow.yaml:20:27 steps[1].agent: unknown agent "fx-9" (known: owner, fx-1)',
        'policies/workflow.yaml:24:24 edges[1].to: unknown step "asemble" (known: split, demux, assemble)',
      ].join('\n'),
    );
    expect(error.name).toBe('WorkflowError');
  });

  it('defaults the file name to <inline>', () => {
    expect(() => parseWorkflow('')).toThrow(/^<inline>:1:1: file is empty/);
  });
});

describe('loadWorkflow', () => {
  it('names the file in errors and rejects a missing file cleanly', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reelmesh-workflow-'));
    try {
      const file = join(dir, 'workflow.yaml');
      writeFileSync(file, replaceLine(1, 'apiVersion: v0'));
      expect(() => loadWorkflow(file)).toThrow(`${file}:1:13 apiVersion: must be "reelmesh.io/v1" (got "v0")`);
      const missing = join(dir, 'nope.yaml');
      expect(() => loadWorkflow(missing)).toThrow(WorkflowError);
      expect(() => loadWorkflow(missing)).toThrow(/cannot read workflow file: ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('validateWorkflow (already-parsed values)', () => {
  it('accepts a valid object and reports paths without positions for a bad one', () => {
    const wf = parseWorkflow(MINI);
    const copy = JSON.parse(JSON.stringify(wf));
    expect(validateWorkflow(copy)).toEqual(wf);
    copy.edges[1].to = 'nowhere';
    expect(() => validateWorkflow(copy)).toThrow('<object> edges[1].to: unknown step "nowhere" (known: split, demux, assemble)');
  });
});
