import { mkdtempSync, rmSync } from 'node:fs';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { text } from 'node:stream/consumers';
import { readHeader, sealedStore } from '@reelmesh/envelope';
import { auditContext, chainHash, entryDigest, entryKey, LEDGER_AGENT, LEDGER_LOG, type AuditEntry } from '@reelmesh/provenance';
import { loadWorkflow } from '@reelmesh/workflow';
import { ledgerAccess } from '../src/commands/provenance';
import { readRunReport } from '../src/dashboard/report';
import { listFiles } from './scan';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loudnessOf } from '@reelmesh/media';
import { ffprobeJson, lastJsonLine, processesUsing, reelmesh } from './helpers';

interface DemoSummary {
  deliverable: string;
  input: string;
  chunks: number;
  steps: Record<string, number>;
  wallSeconds: number;
  dataRoot: string;
  security: { mesh: boolean; encryption: boolean };
  caBundle: string;
  format: { summary: string };
}

const DURATION = 7; // 4 chunks of 2 s, the last one short: exercises the remainder path.

describe('reelmesh demo: the whole workflow on real media, every agent its own process', () => {
  const out = mkdtempSync(join(tmpdir(), 'reelmesh-e2e-'));
  let summary: DemoSummary;
  let stderr = '';

  beforeAll(async () => {
    const result = await reelmesh(['demo', '--duration', String(DURATION), '--out', out, '--json']);
    stderr = result.stderr;
    expect(result.code, result.stderr).toBe(0);
    summary = lastJsonLine<DemoSummary>(result.stdout);
  }, 300_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('prints the summary the issue asks for, secure by default', () => {
    expect(summary.deliverable).toBe(join(out, 'deliverable.mp4'));
    expect(summary.chunks).toBe(Math.ceil(DURATION / 2));
    expect(Object.keys(summary.steps).sort()).toEqual(loadWorkflow().agents.map((a) => a.name).sort());
    for (const seconds of Object.values(summary.steps)) expect(seconds).toBeGreaterThan(0);
    expect(summary.wallSeconds).toBeGreaterThan(0);
    expect(summary.dataRoot.startsWith(out)).toBe(true);
    expect(summary.security).toEqual({ mesh: true, encryption: true });
    expect(stderr).toMatch(/assemble: \d+\/\d+ chunks/);
  });

  it('delivers HDR10: HEVC Main 10, yuv420p10le, BT.2020 primaries, PQ transfer, mastering display metadata', async () => {
    const probe = await ffprobeJson(summary.deliverable, ['-show_streams', '-show_format']);
    const video = probe.streams.find((s) => s.codec_type === 'video')!;
    expect(video.codec_name).toBe('hevc');
    expect(video.profile).toBe('Main 10');
    expect(video.pix_fmt).toBe('yuv420p10le');
    expect(video.color_primaries).toBe('bt2020');
    expect(video.color_transfer).toBe('smpte2084');
    const frames = await ffprobeJson(summary.deliverable, ['-select_streams', 'v:0', '-read_intervals', '%+#1', '-show_frames']);
    const sideData = (frames.frames[0].side_data_list ?? []).map((d) => d.side_data_type);
    expect(sideData).toContain('Mastering display metadata');
    expect(sideData).toContain('Content light level metadata');
  });

  it('keeps the duration within 0.1 s and every frame exactly once', async () => {
    const master = await ffprobeJson(summary.input, ['-show_format', '-count_frames', '-select_streams', 'v:0', '-show_streams']);
    const deliverable = await ffprobeJson(summary.deliverable, ['-show_format', '-count_frames', '-select_streams', 'v:0', '-show_streams']);
    expect(Math.abs(Number(deliverable.format.duration) - Number(master.format.duration))).toBeLessThanOrEqual(0.1);
    expect(Number(deliverable.streams[0].nb_read_frames)).toBe(Number(master.streams[0].nb_read_frames));
  });

  it('masters the whole programme to -23 LUFS (±0.5) with true peak at most -1 dBTP', async () => {
    const { integratedLufs, truePeakDbtp } = await loudnessOf(summary.deliverable);
    expect(Math.abs(integratedLufs - -23)).toBeLessThanOrEqual(0.5);
    expect(truePeakDbtp).toBeLessThanOrEqual(-1);
  });

  it("keeps the master's picture size, frame rate and channel layout, and says so", async () => {
    const master = await ffprobeJson(summary.input, ['-show_streams']);
    const film = await ffprobeJson(summary.deliverable, ['-show_streams']);
    const pick = (probe: typeof master, type: string, keys: string[]) => {
      const stream = probe.streams.find((s) => s.codec_type === type)!;
      return Object.fromEntries(keys.map((k) => [k, stream[k]]));
    };
    expect(pick(film, 'video', ['width', 'height', 'r_frame_rate'])).toEqual(pick(master, 'video', ['width', 'height', 'r_frame_rate']));
    expect(pick(film, 'audio', ['sample_rate', 'channels'])).toEqual(pick(master, 'audio', ['sample_rate', 'channels']));
    expect(summary.format.summary).toMatch(/master format kept$/);
  });

  it('the owner received every picture and sound chunk exactly once', async () => {
    const base = join(summary.dataRoot, 'owner', 'feature-film', 'assemble');
    const pictures = (await readdir(join(base, 'picture'))).filter((f) => f.endsWith('.mkv'));
    const sounds = (await readdir(join(base, 'sound'))).filter((f) => f.endsWith('.mkv'));
    const expected = Array.from({ length: summary.chunks }, (_, i) => `${String(i).padStart(5, '0')}.mkv`);
    expect(pictures.sort()).toEqual(expected);
    expect(sounds.sort()).toEqual(expected);
  });

  it('the deliverable is attested by the owner and, with every chunk\'s signed chain, re-checks offline', async () => {
    const result = await reelmesh(['verify', join(out, 'deliverable.mp4'), '--ca', summary.caBundle]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`deliverable ok: deliverable\\.mp4 sha256 [0-9a-f]{64} \\(\\d+ bytes\\), ${summary.chunks} chunks`));
    // Signed by the owner's app, under the owner-signed policy bundle in force, with the ffmpeg that assembled it.
    expect(result.stdout).toMatch(/deliverable\.mp4: attested by spiffe:\/\/[^ ]+\/sa\/owner at \S+; policy bundle revision \d+; ffmpeg \S+ \((env|path|bundled)\)/);
    // One signed record per chunk for each (step, artifact) the workflow hands on.
    const records = new Set(loadWorkflow().edges.map((e) => `${e.from}/${e.artifact}`)).size;
    expect(result.stdout.match(new RegExp(`: ok \\(${records} signed records\\)`, 'g'))).toHaveLength(summary.chunks);
  });

  it('the output folder verifies the same way, and one flipped byte in the film is refused', async () => {
    const folder = await reelmesh(['verify', '--provenance', out, '--ca', summary.caBundle]);
    expect(folder.code, folder.stderr).toBe(0);
    expect(folder.stdout).toContain(`${summary.chunks} chunks`);
    const copy = mkdtempSync(join(tmpdir(), 'reelmesh-e2e-tampered-'));
    try {
      await cp(out, copy, { recursive: true, filter: (src) => !src.includes('/run-') });
      const film = await readFile(join(copy, 'deliverable.mp4'));
      film[film.length >> 1] ^= 0x01;
      await writeFile(join(copy, 'deliverable.mp4'), film);
      const tampered = await reelmesh(['verify', join(copy, 'deliverable.mp4'), '--ca', summary.caBundle]);
      expect(tampered.code).toBe(1);
      expect(tampered.stdout).toMatch(/deliverable REFUSED \(digest\): deliverable\.mp4 has sha256 \w+…, the owner attested \w+…/);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('leaves its report in the run folder (reelmesh dashboard <run-dir>): the deliverable verified, no matrix unless watched', async () => {
    const state = await readRunReport(dirname(summary.dataRoot));
    expect(state.mode).toBe('report');
    expect(state.graph.agents.map((a) => a.name)).toEqual(loadWorkflow().agents.map((a) => a.name));
    expect(state.report).toMatchObject({ result: { deliverable: summary.deliverable, chunks: summary.chunks }, verification: { ok: true } });
    expect(state.report!.verification.checks.every((c) => c.ok)).toBe(true);
    expect(state.report!.matrix).toBeUndefined();
  });

  describe("the owner's audit ledger of this run", () => {
    const runDir = () => dirname(summary.dataRoot);
    const ledgerDir = () => join(runDir(), 'state', 'audit');
    const auditVerify = (...extra: string[]) => reelmesh(['audit', 'verify', runDir(), '--ca', summary.caBundle, ...extra]);

    it('holds every handoff (sender and receiver side) and every policy decision, and verifies', async () => {
      const result = await auditVerify('--json');
      expect(result.code, result.stdout + result.stderr).toBe(0);
      const report = lastJsonLine<{ ok: boolean; entries: number; checkpoints: number; uncheckpointed: number; events: Record<string, number> }>(result.stdout);
      const handoffs = loadWorkflow().edges.length * summary.chunks;
      expect(report.events['handoff-sent']).toBe(handoffs);
      expect(report.events['handoff-received']).toBe(handoffs);
      expect(report.events['deliverable-attested']).toBe(1);
      // Exactly the decisions the policy sidecars logged locally, no more, no less.
      const logs = (await readdir(join(runDir(), 'state', 'logs'))).filter((f) => f.endsWith('.decisions.log'));
      let decisions = 0;
      for (const f of logs) decisions += (await readFile(join(runDir(), 'state', 'logs', f), 'utf8')).trim().split('\n').filter(Boolean).length;
      expect(report.events.decision).toBe(decisions);
      expect(decisions).toBeGreaterThanOrEqual(handoffs);
      expect(report).toMatchObject({ ok: true, uncheckpointed: 0 });
      expect(report.checkpoints).toBeGreaterThanOrEqual(1);
    });

    it('is sealed at rest: every entry and checkpoint is an envelope, no JSON in clear', async () => {
      const files = await listFiles(ledgerDir());
      expect(files.length).toBeGreaterThan(10);
      for (const file of files) {
        const bytes = await readFile(file);
        expect(() => readHeader(bytes), file).not.toThrow();
        expect(bytes.includes(Buffer.from('spiffe://')) || bytes.includes(Buffer.from('handoff-')), file).toBe(false);
      }
    });

    /** A copy of the ledger to attack, and the insider's access (the ledger's own KMS credential). */
    async function attackCopy(name: string) {
      const dir = join(out, `tampered-${name}`);
      await cp(ledgerDir(), dir, { recursive: true });
      const access = await ledgerAccess({}, join(runDir(), 'state', 'kms'), 'owner');
      const store = sealedStore(dir, access.kms).store;
      const ctx = auditContext('feature-film', LEDGER_AGENT);
      const read = async (seq: number) => JSON.parse(await text(await store.createReadStream(entryKey(LEDGER_LOG, seq), ctx))) as AuditEntry;
      const put = async (seq: number, e: AuditEntry) => {
        await store.remove(entryKey(LEDGER_LOG, seq));
        const w = await store.createWriter(entryKey(LEDGER_LOG, seq), ctx);
        w.stream.end(JSON.stringify(e));
        await w.commit();
      };
      const verify = async () => {
        const r = await auditVerify('--ledger', dir);
        expect(r.code).toBe(1);
        return r.stdout.trim();
      };
      return { dir, store, read, put, verify, stop: () => access.stop() };
    }

    it('pinpoints an entry flipped on disk, one removed, one rewritten by an insider holding the key, and one inserted', async () => {
      const flipped = await attackCopy('flipped');
      const file = join(flipped.dir, entryKey(LEDGER_LOG, 5));
      const bytes = await readFile(file);
      bytes[bytes.length - 20] ^= 0x01;
      await writeFile(file, bytes);
      expect(await flipped.verify()).toMatch(/^audit log FAILED at entry 5: entry 5 cannot be read/);
      await flipped.stop();

      const removed = await attackCopy('removed');
      await removed.store.remove(entryKey(LEDGER_LOG, 7));
      expect(await removed.verify()).toBe('audit log FAILED at entry 7: entry 7 was removed');
      await removed.stop();

      // The insider re-seals a decision turned from deny into allow, and re-hashes the chain after it.
      const altered = await attackCopy('altered');
      const e = await altered.read(3);
      e.event = { ...e.event, forged: true };
      e.hash = chainHash(e.prev, entryDigest(e));
      await altered.put(3, e);
      const next = await altered.read(4);
      next.prev = e.hash;
      next.hash = chainHash(next.prev, entryDigest(next));
      await altered.put(4, next);
      expect(await altered.verify()).toBe('audit log FAILED at entry 3: entry 3 was altered (its digest differs from the signed checkpoint)');
      await altered.stop();

      // An entry slipped in at 2: everything after it renumbered.
      const inserted = await attackCopy('inserted');
      const size = (await inserted.store.list(`audit/${LEDGER_LOG}/entries`)).length;
      for (let seq = size - 1; seq >= 2; seq--) await inserted.put(seq + 1, { ...(await inserted.read(seq)), seq: seq + 1 });
      const fake = { ...(await inserted.read(2)), seq: 2, event: { type: 'handoff-received', forged: true } } as AuditEntry;
      await inserted.put(2, fake);
      expect(await inserted.verify()).toMatch(/^audit log FAILED at entry 2: entry 2 was inserted/);
      await inserted.stop();
    });
  });

  it('leaves no agent process behind', () => {
    expect(processesUsing(summary.dataRoot)).toEqual([]);
  });
});
