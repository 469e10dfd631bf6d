import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { workflowDigest } from '@reelmesh/provenance';
import { writeFileAtomic } from '@reelmesh/storage';
import type { Workflow } from '@reelmesh/workflow';

/**
 * What the CLI records about a run in its folder (`<run-dir>/run.json`), so `reelmesh demo
 * --resume <run-dir>` can start the same platform on the same volumes after the CLI itself died.
 * The agents keep their own state in their sealed volumes; this only says where things are.
 */
export interface RunManifest {
  version: 1;
  workflowId: string;
  /** sha256 of the workflow's canonical JSON: a run is resumed only under the same workflow. */
  workflowDigest: string;
  /** The workflow file the run was started with. */
  workflowPath?: string;
  /** The master (in its ingest folder). */
  input: string;
  outDir: string;
  dataRoot: string;
  stateDir: string;
  security: { mesh: boolean; encryption: boolean; provenance: boolean; isolation: 'none' | 'netns' };
  createdAt: string;
}

export const RUN_MANIFEST = 'run.json';

export async function writeRunManifest(runDir: string, manifest: RunManifest): Promise<void> {
  await writeFileAtomic(join(runDir, RUN_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
}

/** A file of a run folder, as text; a missing one is the one line `missing()` says, any other failure names the file. */
export async function readRunFile(runDir: string, name: string, missing: () => string): Promise<{ file: string; text: string }> {
  const file = join(resolve(runDir), name);
  try {
    return { file, text: await readFile(file, 'utf8') };
  } catch (error) {
    throw new Error((error as NodeJS.ErrnoException).code === 'ENOENT' ? missing() : `cannot read ${file}: ${(error as Error).message}`);
  }
}

/**
 * The manifest of a run folder to resume, checked against the workflow in force: a folder that is
 * not a run, or a run of another workflow (or of this one since edited), is refused with one line.
 */
export async function readRunManifest(runDir: string, workflow: Workflow): Promise<RunManifest> {
  const { file, text } = await readRunFile(runDir, RUN_MANIFEST, () => `${resolve(runDir)} is not a ReelMesh run folder (no ${RUN_MANIFEST}); pass the folder a demo printed as its run folder`);
  let manifest: RunManifest;
  try {
    manifest = JSON.parse(text) as RunManifest;
  } catch (error) {
    throw new Error(`${file} is not JSON (${(error as Error).message}); it is not resumable`);
  }
  if (manifest?.version !== 1 || typeof manifest.dataRoot !== 'string' || typeof manifest.input !== 'string' || typeof manifest.workflowDigest !== 'string') {
    throw new Error(`${file} is not a run manifest this version can resume`);
  }
  const digest = workflowDigest(workflow);
  if (manifest.workflowId !== workflow.metadata.id || manifest.workflowDigest !== digest) {
    throw new Error(
      `${resolve(runDir)} is a run of workflow ${manifest.workflowId} (sha256 ${manifest.workflowDigest.slice(0, 12)}…), but the workflow now is ${workflow.metadata.id} (sha256 ${digest.slice(0, 12)}…): resume it with the workflow file it was started with`,
    );
  }
  return manifest;
}
