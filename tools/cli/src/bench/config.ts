// How many observations each suite takes: `--quick` (smoke, CI) or the full study (by hand).

export const SUITES = ['startup', 'request', 'security', 'provenance', 'workflow', 'envelope', 'mesh', 'quality', 'chaos'] as const;
export type SuiteName = (typeof SUITES)[number];

export interface BenchConfig {
  quick: boolean;
  /** Runtime start-ups per group (each gives one observation per pod). */
  startupRounds: number;
  /** Whole-mesh start-ups per way of running (bundles, source). */
  meshReadyRounds: number;
  /** Watching a mesh (polled vs followed status): alternated rounds, seconds per phase. */
  watchRounds: number;
  watchSeconds: number;
  /** Observations per allowed edge per level, and warm-up requests per edge per level. */
  requestsPerEdge: number;
  requestWarmup: number;
  /** Alternated end-to-end runs per group, on a clip of this length. */
  securityRuns: number;
  securitySeconds: number;
  /** Alternated runs with / without provenance on a clip of this length; chunks signed in the micro-benchmark. */
  provenanceRuns: number;
  provenanceSeconds: number;
  provenanceMicroChunks: number;
  /** Size of the synthetic deliverable whose attestation is signed and verified. */
  attestationBytes: number;
  /** The sample timed end to end, and the short/long masters whose agent RSS is compared. */
  workflowSeconds: number;
  rssShortSeconds: number;
  rssLongSeconds: number;
  envelopeBytes: number;
  envelopeRounds: number;
  rssSmallBytes: number;
  rssLargeBytes: number;
  meshRequests: number;
  meshThroughputBytes: number;
  policyIterations: number;
  /** The master the film-quality suite runs through the mesh and renders in one process, per ffmpeg build. */
  qualitySeconds: number;
  /** The film run undisturbed and under chaos, and the seconds between two kills. */
  chaosSeconds: number;
  chaosEverySeconds: number;
}

const MiB = 1024 * 1024;

export function benchConfig(quick: boolean): BenchConfig {
  if (quick) {
    // Everything once, small: the quick run proves the report is produced, not the figures.
    return {
      quick,
      startupRounds: 1,
      meshReadyRounds: 1,
      watchRounds: 1,
      watchSeconds: 3,
      requestsPerEdge: 10,
      requestWarmup: 3,
      securityRuns: 1,
      securitySeconds: 2,
      provenanceRuns: 1,
      provenanceSeconds: 2,
      provenanceMicroChunks: 5,
      attestationBytes: 64 * 1024 * 1024,
      workflowSeconds: 2,
      rssShortSeconds: 2,
      rssLongSeconds: 4,
      envelopeBytes: 128 * MiB,
      envelopeRounds: 1,
      rssSmallBytes: 32 * MiB,
      rssLargeBytes: 256 * MiB,
      meshRequests: 200,
      meshThroughputBytes: 32 * MiB,
      policyIterations: 50,
      qualitySeconds: 8,
      chaosSeconds: 8,
      chaosEverySeconds: 5,
    };
  }
  return {
    quick,
    startupRounds: 130,
    meshReadyRounds: 5,
    watchRounds: 4,
    watchSeconds: 20,
    requestsPerEdge: 100,
    requestWarmup: 20,
    // The row: a 60 s film, alternated; 3 pairs keep the full study under an hour.
    securityRuns: 3,
    securitySeconds: 60,
    provenanceRuns: 5,
    provenanceSeconds: 20,
    provenanceMicroChunks: 100,
    attestationBytes: 1024 * 1024 * 1024,
    workflowSeconds: 60,
    rssShortSeconds: 60,
    rssLongSeconds: 600,
    envelopeBytes: 1024 * MiB,
    envelopeRounds: 3,
    rssSmallBytes: 100 * 1000 * 1000,
    rssLargeBytes: 2048 * MiB,
    meshRequests: 5000,
    meshThroughputBytes: 256 * MiB,
    policyIterations: 1000,
    qualitySeconds: 60,
    chaosSeconds: 60,
    chaosEverySeconds: 8,
  };
}

export function parseSuites(only: string | undefined): SuiteName[] {
  if (!only) return [...SUITES];
  const names = only.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(SUITES as readonly string[]).includes(n));
  if (unknown.length || names.length === 0) throw new Error(`--only takes a comma-separated list of ${SUITES.join(', ')}; unknown: ${unknown.join(', ') || '(empty)'}`);
  return SUITES.filter((s) => names.includes(s));
}
