import cliProgress from 'cli-progress';

export interface Progress {
  update(step: string, done: number, total: number): void;
  line(text: string): void;
  stop(): void;
}

/** A bar per step on a TTY; otherwise a plain line each time a step advances by 10% or finishes. */
export function createProgress(steps: string[], stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY) {
    const multi = new cliProgress.MultiBar(
      { format: ' {step} |{bar}| {value}/{total} chunks', hideCursor: true, clearOnComplete: false, stream },
      cliProgress.Presets.shades_classic,
    );
    const width = Math.max(...steps.map((s) => s.length));
    const bars = new Map(steps.map((s) => [s, multi.create(1, 0, { step: s.padEnd(width) })]));
    return {
      update(step, done, total) {
        const bar = bars.get(step);
        bar?.setTotal(Math.max(total, 1));
        bar?.update(done);
      },
      line(text) {
        multi.log(`${text}\n`);
      },
      stop() {
        multi.stop();
      },
    };
  }
  const last = new Map<string, number>();
  return {
    update(step, done, total) {
      if (total <= 0) return;
      const decile = done === total ? 10 : Math.floor((done / total) * 10);
      if ((last.get(step) ?? -1) >= decile) return;
      last.set(step, decile);
      stream.write(`${step}: ${done}/${total} chunks\n`);
    },
    line(text) {
      stream.write(`${text}\n`);
    },
    stop() {},
  };
}
