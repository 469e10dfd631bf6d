// One home for every rule: the modules that own a rule are the only code that spells it out.
// These checks read the sources, so a second copy fails the build instead of drifting quietly.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@reelmesh/runtime';

/** Product source files (tests and test helpers may build odd values on purpose). */
const sources = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', 'apps/*.ts', 'libs/*.ts', 'tools/*.ts'], { cwd: REPO_ROOT, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f && !/\.spec\.ts$|test-util\.ts$|test-support\.ts$|spec-helpers\.ts$|\/testing(\.ts|\/)|\/test\//.test(f));

/** The code of a file without its comments (a comment may quote what the code must not do). */
const code = (file: string) => readFileSync(join(REPO_ROOT, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, '');

function filesMatching(pattern: RegExp): string[] {
  return sources.filter((file) => pattern.test(code(file)));
}

describe('one home for every rule', () => {
  it('reads real sources', () => {
    expect(sources).toEqual(expect.arrayContaining(['libs/storage/src/atomic-file.ts', 'libs/addressing/src/spiffe.ts', 'libs/http-kit/src/endpoint.ts']));
  });

  it('only the atomic writer publishes files by rename', () => {
    expect(filesMatching(/\brename(Sync)?\(/)).toEqual(['libs/storage/src/atomic-file.ts']);
  });

  it('only the addressing module spells out a SPIFFE id', () => {
    expect(filesMatching(/spiffe:\/\/\$\{/)).toEqual(['libs/addressing/src/spiffe.ts']);
  });

  it('only the HTTP kit binds a listening socket', () => {
    expect(filesMatching(/\.listen\(/)).toEqual(['libs/http-kit/src/endpoint.ts']);
  });

  it('only the HTTP kit announces readiness', () => {
    expect(filesMatching(/["']?event["']?\s*:\s*["']ready["']|process\.send\?\.\(/)).toEqual(['libs/http-kit/src/service-line.ts']);
  });
});
