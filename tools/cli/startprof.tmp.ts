import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessGroup, programBundles, runFolders, startLocalRuntime, type SpawnSpec } from '@reelmesh/runtime';
class G extends ProcessGroup {
  override spawn(spec: SpawnSpec) {
    if (spec.name === process.argv[2]) return super.spawn({ ...spec, wrap: ['/bin/sh', '-c', 'exec "$0" --cpu-prof --cpu-prof-dir=/tmp/appprof "$@"'] });
    return super.spawn(spec);
  }
}
await programBundles();
const dir = await mkdtemp(join(tmpdir(), 'rm-cpu-'));
const group = new G();
const runtime = await startLocalRuntime({ group, ...runFolders(dir), mesh: true, encryption: true });
await runtime.stop(5000);
await group.stop(2000);
