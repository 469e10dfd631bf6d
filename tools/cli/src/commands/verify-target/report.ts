// The access-matrix report, one for every target (the local mesh, Compose, Kubernetes): the counts,
// the source x destination table, one MISMATCH line per row that differs from the matrix, and the
// exit status (1 when any row differs).
import { renderMatrix, type VerifyReport } from '../../verify-matrix';

/** Writes the report (`json`: one JSON object) and returns whether it failed (any row differs). */
export function writeVerifyReport(report: VerifyReport, agents: readonly string[], opts: { json?: boolean; write?: (text: string) => void } = {}): boolean {
  const write = opts.write ?? ((text: string) => void process.stdout.write(text));
  if (opts.json) write(`${JSON.stringify(report)}\n`);
  else {
    write(`${renderMatrix(report, [...agents])}\n\n`);
    for (const r of report.rows.filter((x) => x.actual !== x.expected)) {
      write(`MISMATCH ${r.source} -> ${r.destination} ${r.method} ${r.path}: expected ${r.expected}, got ${r.actual} (${r.status} ${r.code ?? ''})\n`);
    }
    write(
      `${report.attempts} attempts, ${report.expectedAllowed} expected allowed, ${report.allowed} allowed, ` +
        `${report.unexpectedAllows} unexpected allows, ${report.unexpectedDenies} unexpected denies\n`,
    );
  }
  return report.unexpectedAllows + report.unexpectedDenies > 0;
}
