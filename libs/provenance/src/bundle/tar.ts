import { gunzipSync, gzipSync } from 'node:zlib';
import { BundleError } from './bundle-error';

// Just enough ustar for OPA bundles (a few small regular files): no links, no devices.

const BLOCK = 512;
const MAX_UNPACKED_BYTES = 64 * 1024 * 1024;
const MAX_FILES = 1000;

export type BundleFiles = Map<string, Buffer>;

export function packTarGz(files: BundleFiles): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, content] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    blocks.push(header(name, content.length), content, Buffer.alloc((BLOCK - (content.length % BLOCK)) % BLOCK));
  }
  blocks.push(Buffer.alloc(BLOCK * 2));
  return gzipSync(Buffer.concat(blocks));
}

function header(name: string, size: number): Buffer {
  if (Buffer.byteLength(name) > 100) throw new BundleError('BUNDLE_MALFORMED', `bundle path too long: ${name}`);
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100, 'ascii');
  h.write('0000000\0', 108, 'ascii');
  h.write('0000000\0', 116, 'ascii');
  h.write(size.toString(8).padStart(11, '0') + '\0', 124, 'ascii');
  h.write('00000000000\0', 136, 'ascii'); // mtime 0: the same files always give the same archive
  h.write('        ', 148, 'ascii');
  h.write('0', 156, 'ascii');
  h.write('ustar\0' + '00', 257, 'ascii');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return h;
}

export function unpackTarGz(archive: Buffer): BundleFiles {
  let tar: Buffer;
  try {
    tar = gunzipSync(archive, { maxOutputLength: MAX_UNPACKED_BYTES });
  } catch (error) {
    throw new BundleError('BUNDLE_MALFORMED', `bundle is not a readable tar.gz: ${(error as Error).message}`);
  }
  const files: BundleFiles = new Map();
  let at = 0;
  while (at + BLOCK <= tar.length) {
    const h = tar.subarray(at, at + BLOCK);
    if (h.every((b) => b === 0)) break;
    const size = parseOctal(h.subarray(124, 136));
    const type = String.fromCharCode(h[156] || 0x30);
    const prefix = cstring(h.subarray(345, 500));
    const rawName = (prefix ? `${prefix}/` : '') + cstring(h.subarray(0, 100));
    const body = tar.subarray(at + BLOCK, at + BLOCK + size);
    if (body.length !== size) throw new BundleError('BUNDLE_MALFORMED', 'bundle tar is truncated');
    at += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === '5' || type === 'x' || type === 'g') continue; // directories and pax metadata
    if (type !== '0') throw new BundleError('BUNDLE_MALFORMED', `bundle entry ${rawName} is not a regular file`);
    const name = normalizePath(rawName);
    if (files.has(name)) throw new BundleError('BUNDLE_MALFORMED', `bundle holds ${name} twice`);
    if (files.size >= MAX_FILES) throw new BundleError('BUNDLE_MALFORMED', `bundle holds more than ${MAX_FILES} files`);
    files.set(name, Buffer.from(body));
  }
  return files;
}

/** OPA names files without a leading "/" (tar entries often have one). */
export function normalizePath(path: string): string {
  const name = path.replace(/^(\.\/|\/)+/, '');
  if (name === '' || name.split('/').some((s) => s === '' || s === '.' || s === '..') || name.includes('\\') || name.includes('\0')) {
    throw new BundleError('BUNDLE_MALFORMED', `unsafe bundle path ${JSON.stringify(path)}`);
  }
  return name;
}

function parseOctal(field: Buffer): number {
  const text = cstring(field).trim();
  if (!/^[0-7]+$/.test(text)) throw new BundleError('BUNDLE_MALFORMED', 'bundle tar header has a bad size field');
  return parseInt(text, 8);
}

function cstring(field: Buffer): string {
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? field.length : end).toString('utf8');
}
