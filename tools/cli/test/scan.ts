import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

/**
 * Signatures of plaintext we must never find at rest. Short magics are checked where a plaintext
 * file carries them (its start); anywhere-in-the-file checks use strings long enough (8+ bytes)
 * that random ciphertext never matches them by chance — a 4-byte magic turns up somewhere in
 * about one 2 MB ciphertext in 2000.
 */
const at = (b: Buffer, offset: number, magic: Buffer) => b.length >= offset + magic.length && b.subarray(offset, offset + magic.length).equals(magic);
const SIGNATURES: Array<{ name: string; test: (b: Buffer) => boolean }> = [
  { name: 'Matroska/EBML', test: (b) => at(b, 0, Buffer.from([0x1a, 0x45, 0xdf, 0xa3])) || b.includes(Buffer.from('matroska')) },
  { name: 'MP4', test: (b) => at(b, 4, Buffer.from('ftyp')) || b.includes(Buffer.from('ftypisom')) || b.includes(Buffer.from('ftypmp42')) },
  { name: 'WAV', test: (b) => at(b, 0, Buffer.from('RIFF')) && at(b, 8, Buffer.from('WAVE')) },
  { name: '.cube LUT', test: (b) => b.includes(Buffer.from('LUT_3D_SIZE')) },
  {
    name: 'MPEG-TS',
    test: (b) => {
      // five sync bytes 188 apart at the start of the file
      for (let start = 0; start < Math.min(188, b.length); start++) {
        let ok = b.length >= start + 5 * 188;
        for (let k = 0; ok && k < 5; k++) if (b[start + k * 188] !== 0x47) ok = false;
        if (ok) return true;
      }
      return false;
    },
  },
];

/** Shannon entropy of the byte distribution, bits per byte. */
export function entropy(buf: Buffer): number {
  const counts = new Array<number>(256).fill(0);
  for (const byte of buf) counts[byte]++;
  let h = 0;
  for (const c of counts) {
    if (c === 0) continue;
    const p = c / buf.length;
    h -= p * Math.log2(p);
  }
  return h;
}

export async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

export interface ScanFinding {
  file: string;
  problem: string;
}

/** Every file under root: no plaintext signature; above 4 KB, entropy > 7.9 bits/byte. */
export async function scanForPlaintext(root: string): Promise<{ files: number; findings: ScanFinding[] }> {
  const files = await listFiles(root);
  const findings: ScanFinding[] = [];
  for (const file of files) {
    const buf = await readFile(file);
    const rel = relative(root, file);
    for (const sig of SIGNATURES) if (sig.test(buf)) findings.push({ file: rel, problem: `${sig.name} signature` });
    if (buf.length > 4096) {
      const h = entropy(buf);
      if (h <= 7.9) findings.push({ file: rel, problem: `entropy ${h.toFixed(3)} bits/byte` });
    }
  }
  return { files: files.length, findings };
}
