import type { FormatReport } from './format-report';

export type RunState = 'idle' | 'splitting' | 'processing' | 'assembling' | 'done' | 'failed';

export interface RunStatus {
  state: RunState;
  workflowId: string;
  input?: string;
  chunkCount?: number;
  /** The master's format, the delivery's, and any conform (never silent). */
  format?: FormatReport;
  chunksSplit: number;
  deliverable?: string;
  error?: { code: string; message: string };
  startedAt?: string;
  finishedAt?: string;
}

/** The owner runs one workflow instance at a time per data root. */
export class Run {
  status: RunStatus;

  constructor(workflowId: string) {
    this.status = { state: 'idle', workflowId, chunksSplit: 0 };
  }

  get active(): boolean {
    return ['splitting', 'processing', 'assembling'].includes(this.status.state);
  }

  start(input: string, chunkCount: number, format?: FormatReport, startedAt = new Date().toISOString()): void {
    this.status = { ...this.status, state: 'splitting', input, chunkCount, format, chunksSplit: 0, startedAt };
  }

  split(): void {
    this.status.chunksSplit++;
    if (this.status.state === 'splitting' && this.status.chunksSplit === this.status.chunkCount) this.status.state = 'processing';
  }

  assembling(): void {
    if (this.status.state !== 'failed') this.status.state = 'assembling';
  }

  done(deliverable: string): void {
    this.status = { ...this.status, state: 'done', deliverable, finishedAt: new Date().toISOString() };
  }

  fail(code: string, message: string): void {
    if (this.status.state === 'failed') return;
    this.status = { ...this.status, state: 'failed', error: { code, message }, finishedAt: new Date().toISOString() };
  }
}
