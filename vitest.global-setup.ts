// Before any test file runs: build the bundles every spawned process starts from (or find them
// fresh), once, rather than in every test worker that happens to start a runtime first.
import { programBundles } from './libs/runtime/src/bundles';

export default async function setup(): Promise<void> {
  if (process.env.REELMESH_RUN_FROM !== 'source') await programBundles();
}
