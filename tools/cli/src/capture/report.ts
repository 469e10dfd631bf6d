import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Attempt } from './attempts';
import type { Verdict } from './classify';
import { writeFileAtomic } from '@reelmesh/storage';

export interface CaptureTotals {
  attempts: number;
  verdicts: number;
  passed: number;
  failed: number;
  decisionMismatches: number;
  byRole: Record<string, { passed: number; failed: number }>;
}

export interface CaptureReport {
  totals: CaptureTotals;
  attempts: Attempt[];
  verdicts: Verdict[];
}

export function buildReport(attempts: Attempt[], verdicts: Verdict[]): CaptureReport {
  const byRole: CaptureTotals['byRole'] = {};
  for (const v of verdicts) {
    const r = (byRole[v.role] ??= { passed: 0, failed: 0 });
    if (v.verdict === 'pass') r.passed++;
    else r.failed++;
  }
  const failed = verdicts.filter((v) => v.verdict === 'fail').length;
  return {
    totals: {
      attempts: attempts.length,
      verdicts: verdicts.length,
      passed: verdicts.length - failed,
      failed,
      decisionMismatches: attempts.filter((a) => a.actual !== a.expected).length,
      byRole,
    },
    attempts,
    verdicts,
  };
}

/** report.json (every verdict) and report.md (totals, failures, one line per attempt). */
export async function writeReport(dir: string, report: CaptureReport): Promise<{ json: string; markdown: string }> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, 'capture-report.json');
  const markdown = join(dir, 'capture-report.md');
  await writeFileAtomic(json, JSON.stringify(report, null, 1), { mode: 0o644 });
  const t = report.totals;
  const lines = [
    '# Capture verification',
    '',
    `${t.attempts} attempts, ${t.verdicts} verdicts (attempt x interface): **${t.passed} passed, ${t.failed} failed**; ${t.decisionMismatches} decisions differ from the workflow.`,
    '',
    '| role | passed | failed |',
    '|---|---|---|',
    ...Object.entries(t.byRole).map(([role, r]) => `| ${role} | ${r.passed} | ${r.failed} |`),
    '',
    '## Failures',
    '',
    ...(t.failed ? report.verdicts.filter((v) => v.verdict === 'fail').slice(0, 500).map((v) => `- #${v.attempt} ${v.source} -> ${v.destination} ${v.method} ${v.path} on ${v.interface} (${v.role}): ${v.findings.join('; ')}`) : ['none']),
    '',
    '## Attempts',
    '',
    '| # | source | destination | method | path | expected | actual | interfaces passed |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const perAttempt = new Map<number, Verdict[]>();
  for (const v of report.verdicts) perAttempt.set(v.attempt, [...(perAttempt.get(v.attempt) ?? []), v]);
  for (const a of report.attempts) {
    const vs = perAttempt.get(a.id) ?? [];
    lines.push(`| ${a.id} | ${a.source} | ${a.destination} | ${a.method} | \`${a.path}\` | ${a.expected} | ${a.actual} | ${vs.filter((v) => v.verdict === 'pass').length}/${vs.length} |`);
  }
  await writeFileAtomic(markdown, `${lines.join('\n')}\n`, { mode: 0o644 });
  return { json, markdown };
}
