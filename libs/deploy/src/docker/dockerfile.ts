// One Dockerfile per program, all the same shape: production node_modules in one stage (the npm
// ffmpeg/ffprobe binaries come with them), Debian's current ffmpeg for the agents (the jobs prefer
// a version >= 5 on PATH: faster, 10-bit filter paths), the Nx build output (an esbuild bundle)
// copied in, a non-root user and a health check.
import { imageString, NODE_IMAGE } from '../images';
import { nodeHttpProbe, nodeTcpProbe } from '../probes';
import { AGENT_NODE_FLAGS, APP_PORT, APP_UID, CONTROL_PLANE_NAME, CONTROL_PLANE_PORT, DATA_DIR, IMAGE_WORKDIR, KMS_NAME, KMS_PORT, LIVENESS_PATH } from '../settings';
import { textFile } from '../render-yaml';

export const bundlePath = (program: string) => `dist/apps/${program}/main.cjs`;

/** `assets`: repository paths the program reads at run time (e.g. the colourist's LUT folder). */
export function dockerfile(program: string, assets: readonly string[] = []): string {
  const isKms = program === KMS_NAME;
  // Platform programs (the KMS, the control plane) run no media jobs: no ffmpeg.
  const isPlatform = isKms || program === CONTROL_PLANE_NAME;
  const port = isKms ? KMS_PORT : program === CONTROL_PLANE_NAME ? CONTROL_PLANE_PORT : APP_PORT;
  // The KMS answers only signed POSTs: a TCP connect is its health. Agents: liveness (GET /health),
  // not readiness: an orchestrator that restarts unhealthy containers must not kill one that is
  // still resuming (Compose asks /ready itself for its start order).
  const probe = isKms ? nodeTcpProbe(port) : nodeHttpProbe(port, LIVENESS_PATH);
  const dataDir = isKms ? '/var/lib/kms' : DATA_DIR;
  const ffmpeg = isPlatform
    ? ''
    : `# Debian's ffmpeg (5.1 on bookworm): the media jobs take it over the bundled 2018 build.
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
`;
  return textFile(`# Build: npx nx run app-${program}:docker-build (bundles ${bundlePath(program)} first).

FROM ${imageString(NODE_IMAGE)} AS deps
WORKDIR ${IMAGE_WORKDIR}
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${imageString(NODE_IMAGE)} AS runtime
${ffmpeg}ENV NODE_ENV=production \\
    REELMESH_WORKFLOW=${IMAGE_WORKDIR}/policies/workflow.yaml
WORKDIR ${IMAGE_WORKDIR}
COPY --from=deps ${IMAGE_WORKDIR}/node_modules ./node_modules
COPY package.json ./
COPY policies/workflow.yaml ./policies/workflow.yaml
${assets.map((path) => `COPY ${path} ./${path}\n`).join('')}COPY ${bundlePath(program)} ./${bundlePath(program)}
# The volume mount point exists and belongs to the app user, so a fresh volume is writable.
RUN mkdir -p ${dataDir} && chown ${APP_UID}:${APP_UID} ${dataDir}
USER ${APP_UID}:${APP_UID}
EXPOSE ${port}
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \\
  CMD ["node", "-e", "${probe.replace(/"/g, '\\"')}"]
ENTRYPOINT [${['node', ...(isPlatform ? [] : AGENT_NODE_FLAGS), bundlePath(program)].map((arg) => JSON.stringify(arg)).join(', ')}]
`);
}

/** BuildKit reads <Dockerfile>.dockerignore: send only what the image needs. */
export function dockerignore(program: string, assets: readonly string[] = []): string {
  return textFile(`*
!package.json
!package-lock.json
!policies/workflow.yaml
${assets.map((path) => `!${path}\n`).join('')}!${bundlePath(program)}
`);
}
