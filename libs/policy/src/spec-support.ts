// Shared by the policy specs: the committed data document and the input fixtures of libs/policy/fixtures.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPolicyData, REPO_ROOT } from './files';
import type { PolicyInput } from './types';

export const data = loadPolicyData();
export const fixture = (name: string) => JSON.parse(readFileSync(join(REPO_ROOT, 'libs/policy/fixtures', name), 'utf8')) as PolicyInput;
export const allowedInput = fixture('input-allowed.json');
export const deniedInput = fixture('input-denied-reverse-edge.json');
