// Deterministic YAML output: fixed options, key order exactly as the generators build objects.
import { stringify } from 'yaml';
import { GENERATED_HEADER } from './settings';

const OPTIONS = { lineWidth: 0, minContentWidth: 0, aliasDuplicateObjects: false } as const;

/** One YAML file holding `docs` as a multi-document stream, under the generated header. */
export function yamlFile(docs: readonly unknown[], note?: string): string {
  const header = note ? `${GENERATED_HEADER}\n# ${note}\n` : `${GENERATED_HEADER}\n`;
  const body = docs.map((doc) => stringify(doc, OPTIONS)).join('---\n');
  return `${header}${body}`;
}

/** A plain-text file (Dockerfile, shell) under the generated header. */
export function textFile(body: string): string {
  return `${GENERATED_HEADER}\n${body.endsWith('\n') ? body : `${body}\n`}`;
}
