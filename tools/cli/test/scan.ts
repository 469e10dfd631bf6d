import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** Signatures of plaintext we must never find at rest. */
const SIGNATURES: Array<{ name: string; test: (b: Buffer) => boolean }> = [
  { name: 'Matroska/EBML', test: (b) => b.includes(Buffer.from([0x1a, 0x45, 0xdf, 0xa3])) },
  { name: 'MP4 ftyp', test: (b) => b.includes(Buffer.from('ftyp')) },
  { name: 'WAV', test: (b) => b.includes(Buffer.from('RIFF')) && b.includes(Buffer.from('WAVE')) },
  { name: '.cube LUT', test: (b) => b.includes(Buffer.from('LUT_3D_SIZE')) },
  {
    name: 'MPEG-TS',
    test: (b) => {
      // five sync bytes 188 apart anywhere in the first few packets
      for (let start = 0; start < Math.min(188, b.length); start++) {
        let ok = true;
        for (let k = 0; k < 5; k++) if (b[start + k * 188] !== 0x47) ok = false;
        if (ok && b.length >= start + 5 * 188) return true;
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
