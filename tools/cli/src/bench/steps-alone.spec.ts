import { describe, expect, it } from 'vitest';
import { parseWorkflow } from '@reelmesh/workflow';
import { MINI } from '@reelmesh/workflow/testing';
import { stepsAloneOf } from './steps-alone';

describe('bench: steps alone follow the workflow', () => {
  it("charges every step of the workflow its job's time, in topological order", () => {
    expect(stepsAloneOf(parseWorkflow(MINI), { split: 1, demux: 2, assemble: 3, grade: 9 })).toEqual({ seconds: { split: 1, demux: 2, assemble: 3 }, untimed: [] });
  });

  it('charges two steps running the same job each once, and lists the steps whose job was not timed', () => {
    // MINI with a contractor step `redo` (demux's job again) and one with its own job, between demux and assemble.
    const wf = parseWorkflow(
      MINI.replace('  - { name: assemble, agent: owner, job: assemble, sink: true }\n', '  - { name: redo, agent: fx-1, job: demux }\n  - { name: mark, agent: fx-1, job: watermark }\n  - { name: assemble, agent: owner, job: assemble, sink: true }\n').replace(
        '  - { from: demux, to: assemble, artifact: picture }\n',
        '  - { from: demux, to: redo, artifact: picture }\n  - { from: redo, to: mark, artifact: picture }\n  - { from: mark, to: assemble, artifact: picture }\n',
      ),
    );
    const alone = stepsAloneOf(wf, { split: 1, demux: 2, assemble: 3 });
    expect(alone).toEqual({ seconds: { split: 1, demux: 2, redo: 2, assemble: 3 }, untimed: ['mark'] });
    expect(Object.keys(alone.seconds)).toEqual(['split', 'demux', 'redo', 'assemble']);
  });
});
