// A parent's choice of ffmpeg reaches its children: the runtime chooses once (running ffmpeg and
// ffprobe to read their releases) and every agent it starts takes that pair without probing again.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MEDIA_TOOLS_ENV } from './binaries';

const dir = mkdtempSync(join(tmpdir(), 'reelmesh-binaries-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** ffmpeg/ffprobe stand-ins that record each run: how many times a process probed them. */
function fakeTools(release: string): { bin: string; runs: string } {
  const bin = mkdtempSync(join(dir, 'bin-'));
  const runs = join(bin, 'runs.log');
  for (const tool of ['ffmpeg', 'ffprobe']) {
    writeFileSync(join(bin, tool), `#!/bin/sh\necho ${tool} >> ${runs}\necho "${tool} version ${release} Copyright"\n`);
    chmodSync(join(bin, tool), 0o755);
  }
  writeFileSync(runs, '');
  return { bin, runs };
}

/** A fresh process's choice (module state is per process): [ffmpeg, source]. */
function choiceIn(env: Record<string, string>, opts: { version?: boolean } = {}): [string, string] {
  const version = opts.version ? `(await import('./libs/media/src/ffmpeg-version.ts')).ffmpegVersion().then((v) => v.raw)` : 'undefined';
  const code = `import { ffmpegPath, ffmpegSource, mediaToolsEnv } from './libs/media/src/binaries.ts'; console.log(JSON.stringify([ffmpegPath(), ffmpegSource(), mediaToolsEnv(), await ${version}]));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { env: { PATH: env.PATH ?? '', ...env }, encoding: 'utf8' });
  const [path, source, handed, raw] = JSON.parse(out) as [string, string, Record<string, string>, string | undefined];
  choiceIn.last = handed;
  choiceIn.version = raw;
  return [path, source];
}
choiceIn.last = {} as Record<string, string>;
choiceIn.version = undefined as string | undefined;

describe('the choice of ffmpeg, handed from parent to child', () => {
  it('a child given the parent\'s pair runs neither binary to choose it or to read ffmpeg\'s version, and reports it as found on PATH', () => {
    const { bin, runs } = fakeTools('6.1.1');
    const PATH = `${bin}:/usr/bin:/bin`;
    expect(choiceIn({ PATH })).toEqual([join(bin, 'ffmpeg'), 'path']);
    expect(execFileSync('cat', [runs], { encoding: 'utf8' }).trim().split('\n').sort()).toEqual(['ffmpeg', 'ffprobe']); // the parent probed once each
    const handed = choiceIn.last;
    expect(JSON.parse(handed[MEDIA_TOOLS_ENV])).toEqual({ ffmpeg: join(bin, 'ffmpeg'), ffprobe: join(bin, 'ffprobe'), source: 'path', ffmpegVersionLine: 'ffmpeg version 6.1.1 Copyright' });

    writeFileSync(runs, '');
    // Nor to read ffmpeg's version, which an agent logs before it is ready.
    expect(choiceIn({ PATH, ...handed }, { version: true })).toEqual([join(bin, 'ffmpeg'), 'path']);
    expect(choiceIn.version).toBe('6.1.1');
    expect(execFileSync('cat', [runs], { encoding: 'utf8' })).toBe(''); // the child did not
    // Without the version line (a parent of an older build), the child reads it from ffmpeg.
    const { ffmpegVersionLine: _line, ...older } = JSON.parse(handed[MEDIA_TOOLS_ENV]) as Record<string, string>;
    expect(choiceIn({ PATH, [MEDIA_TOOLS_ENV]: JSON.stringify(older) }, { version: true })[1]).toBe('path');
    expect(choiceIn.version).toBe('6.1.1');
    expect(execFileSync('cat', [runs], { encoding: 'utf8' }).trim()).toBe('ffmpeg');
  });

  it('reading the version of an ffmpeg named by path makes no choice: PATH is not probed for it', () => {
    const { bin, runs } = fakeTools('6.1.1');
    const code = `import { ffmpegVersion } from './libs/media/src/ffmpeg-version.ts'; console.log((await ffmpegVersion(${JSON.stringify(join(bin, 'ffmpeg'))})).raw);`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { env: { PATH: `${bin}:/usr/bin:/bin` }, encoding: 'utf8' });
    expect(out.trim()).toBe('6.1.1');
    // Only that ffmpeg, once: choosing a pair would have run ffprobe too.
    expect(execFileSync('cat', [runs], { encoding: 'utf8' }).trim()).toBe('ffmpeg');
  });

  it('a handed pair that is gone, malformed or overruled is not taken', () => {
    const { bin } = fakeTools('4.0.0'); // too old: the bundled build is chosen
    const PATH = `${bin}:/usr/bin:/bin`;
    const gone = { [MEDIA_TOOLS_ENV]: JSON.stringify({ ffmpeg: '/nonexistent/ffmpeg', ffprobe: '/nonexistent/ffprobe', source: 'path' }) };
    expect(choiceIn({ PATH, ...gone })[1]).toBe('bundled');
    expect(choiceIn({ PATH, [MEDIA_TOOLS_ENV]: '{not json' })[1]).toBe('bundled');
    const fresh = fakeTools('6.1.1');
    const handed = { [MEDIA_TOOLS_ENV]: JSON.stringify({ ffmpeg: join(fresh.bin, 'ffmpeg'), ffprobe: join(fresh.bin, 'ffprobe'), source: 'path' }) };
    expect(choiceIn({ PATH, ...handed, REELMESH_FFMPEG: 'bundled' })[1]).toBe('bundled');
    expect(choiceIn({ PATH, ...handed, FFMPEG_PATH: '/opt/ffmpeg' })).toEqual(['/opt/ffmpeg', 'env']);
  });
});
