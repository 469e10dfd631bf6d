// `reelmesh bench`: runs the selected suites one after another (never two at once: they would
// measure each other), then writes report.json, report.md and the SVG plots to the output folder.
import { cpus, tmpdir } from 'node:os';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { renderMarkdown } from '@reelmesh/bench';
import { benchConfig, type SuiteName } from './config';
import { runChaosSuite } from './chaos';
import { runEnvelopeSuite } from './envelope';
import { Runs } from './masters';
import { runMeshMicroSuite } from './mesh-micro';
import { buildReport, type SuiteResults } from './report';
import { runRequestSuite } from './request';
import { runProvenanceSuite } from './provenance';
import { runQualitySuite } from './quality';
import { runSecuritySuite } from './security';
import { runStartupSuite } from './startup';
import { runWorkflowSuite } from './workflow';
import { REFERENCE_NOTE } from './anchors';
import { writeFileAtomic } from '@reelmesh/storage';

export interface RunBenchOptions {
  outDir: string;
  quick: boolean;
  suites: SuiteName[];
  /** Overrides the start-up study's rounds (the full study's 130, the quick run's 1). */
  startupRounds?: number;
  log: (line: string) => void;
}

export interface BenchOutcome {
  outDir: string;
  files: string[];
  /** The --json summary: headline figures of every suite run, and each target's verdict. */
  summary: Record<string, unknown>;
}

async function prepareOutDir(outDir: string): Promise<void> {
  const info = await stat(outDir).catch(() => undefined);
  if (info && !info.isDirectory()) throw new Error(`--out ${outDir} exists and is not a directory`);
  await mkdir(outDir, { recursive: true });
}

export async function runBench(options: RunBenchOptions): Promise<BenchOutcome> {
  const outDir = resolve(options.outDir);
  await prepareOutDir(outDir);
  const config = { ...benchConfig(options.quick), ...(options.startupRounds !== undefined ? { startupRounds: options.startupRounds } : {}) };
  const workDir = await mkdtemp(join(tmpdir(), 'reelmesh-bench-'));
  const results: SuiteResults = {};
  const started = new Date();
  const log = options.log;
  const has = (s: SuiteName) => options.suites.includes(s);
  try {
    const runs = new Runs(workDir);
    if (has('startup')) results.startup = await runStartupSuite(config.startupRounds, config.meshReadyRounds, { rounds: config.watchRounds, secondsPerPhase: config.watchSeconds }, log);
    if (has('request')) {
      const dir = await mkdtemp(join(workDir, 'request-'));
      results.request = await runRequestSuite({ requestsPerEdge: config.requestsPerEdge, warmup: config.requestWarmup, workDir: dir, log });
    }
    if (has('security')) results.security = await runSecuritySuite(runs, { runs: config.securityRuns, seconds: config.securitySeconds, log });
    if (has('provenance')) {
      results.provenance = await runProvenanceSuite(runs, {
        runs: config.provenanceRuns,
        seconds: config.provenanceSeconds,
        microChunks: config.provenanceMicroChunks,
        attestationBytes: config.attestationBytes,
        log,
      });
    }
    if (has('workflow')) {
      results.workflow = await runWorkflowSuite(runs, { seconds: config.workflowSeconds, rssShortSeconds: config.rssShortSeconds, rssLongSeconds: config.rssLongSeconds, workDir, log });
    }
    if (has('envelope')) {
      results.envelope = await runEnvelopeSuite({ bytes: config.envelopeBytes, rounds: config.envelopeRounds, smallBytes: config.rssSmallBytes, largeBytes: config.rssLargeBytes, log });
    }
    if (has('mesh')) results.mesh = await runMeshMicroSuite({ requests: config.meshRequests, throughputBytes: config.meshThroughputBytes, policyIterations: config.policyIterations, log });
    if (has('quality')) results.quality = await runQualitySuite(runs, { seconds: config.qualitySeconds, workDir, log });
    if (has('chaos')) results.chaos = await runChaosSuite(runs, { seconds: config.chaosSeconds, everySeconds: config.chaosEverySeconds, workDir, log });
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }

  const built = await buildReport(results);
  const machine = { node: process.version, platform: `${process.platform} ${process.arch}`, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown' };
  const mode = options.quick ? 'quick' : 'full';
  const summary = { mode, out: outDir, suites: options.suites, ...built.summary, targets: built.targets.map((t) => ({ name: t.name, target: t.target, ours: t.ours, met: t.met })) };
  const report = { generatedAt: started.toISOString(), mode, machine, config, summary, targets: built.targets, raw: results };
  const markdown = renderMarkdown({
    title: 'ReelMesh benchmark report',
    preamble: [
      `${mode === 'quick' ? 'QUICK run (few observations: proves the report is produced; do not quote its figures).' : 'Full run.'}${options.startupRounds !== undefined ? ` Start-up study: ${options.startupRounds} rounds (--startup-rounds).` : ''} Generated ${started.toISOString()} on ${machine.cpus} x ${machine.cpuModel}, Node ${machine.node}. Suites: ${options.suites.join(', ')}.`,
      REFERENCE_NOTE,
    ],
    targets: built.targets,
    sections: built.sections,
  });
  const files: Record<string, string> = { 'report.json': `${JSON.stringify(report, null, 2)}\n`, 'report.md': markdown, ...built.plots };
  for (const [name, text] of Object.entries(files)) await writeFileAtomic(join(outDir, name), text, { mode: 0o644 });
  return { outDir, files: Object.keys(files), summary };
}
