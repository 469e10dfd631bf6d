import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Attempt } from './attempts';
import { classify, type CapturedPod } from './classify';
import { readPcap } from './pcap';
import { TlsDirection } from './tls';

const dir = mkdtempSync(join(tmpdir(), 'rm-classify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Seg {
  tsUs: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  syn?: boolean;
  payload?: Buffer;
}

/** A classic little-endian pcap of Ethernet/IPv4/TCP frames, as tcpdump -w writes on a veth. */
function writePcap(name: string, segs: Seg[]): string {
  const global = Buffer.alloc(24);
  global.writeUInt32LE(0xa1b2c3d4, 0);
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(65535, 16);
  global.writeUInt32LE(1, 20);
  const records = segs.map((s) => {
    const payload = s.payload ?? Buffer.alloc(0);
    const tcp = Buffer.alloc(20);
    tcp.writeUInt16BE(s.sport, 0);
    tcp.writeUInt16BE(s.dport, 2);
    tcp.writeUInt32BE(s.seq >>> 0, 4);
    tcp[12] = 5 << 4;
    tcp[13] = s.syn ? 0x02 : 0x18;
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + 20 + payload.length, 2);
    ip[9] = 6;
    Buffer.from(s.src.split('.').map(Number)).copy(ip, 12);
    Buffer.from(s.dst.split('.').map(Number)).copy(ip, 16);
    const eth = Buffer.alloc(14);
    eth.writeUInt16BE(0x0800, 12);
    const frame = Buffer.concat([eth, ip, tcp, payload]);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(Math.floor(s.tsUs / 1e6), 0);
    rec.writeUInt32LE(s.tsUs % 1e6, 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    return Buffer.concat([rec, frame]);
  });
  const file = join(dir, name);
  writeFileSync(file, Buffer.concat([global, ...records]));
  return file;
}

const record = (type: number, body: Buffer) => Buffer.concat([Buffer.from([type, 3, 3, body.length >> 8, body.length & 0xff]), body]);
function serverHello(version: number): Buffer {
  const ext = Buffer.from([0x00, 0x2b, 0x00, 0x02, version >> 8, version & 0xff]);
  const body = Buffer.concat([Buffer.from([3, 3]), Buffer.alloc(32), Buffer.from([0]), Buffer.from([0x13, 0x01, 0]), Buffer.from([0, ext.length]), ext]);
  return record(22, Buffer.concat([Buffer.from([2, 0, body.length >> 8, body.length & 0xff]), body]));
}
const clientHello = record(22, Buffer.from([1, 0, 0, 4, 3, 3, 0, 0]));
const appData = record(23, Buffer.alloc(40, 0xab));

describe('TlsDirection', () => {
  it('accepts a TLS 1.3 exchange split across segments, rejects plaintext and TLS 1.2', () => {
    const hello = serverHello(0x0304);
    const ok = new TlsDirection('server');
    ok.push(100, true, Buffer.alloc(0));
    ok.push(101, false, hello.subarray(0, 7));
    ok.push(108, false, Buffer.concat([hello.subarray(7), appData]));
    expect(ok.problem).toBeUndefined();
    expect(ok.tls13).toBe(true);
    expect(ok.records).toBe(2);

    const plain = new TlsDirection('client');
    plain.push(1, true, Buffer.alloc(0));
    plain.push(2, false, Buffer.from('POST /v1/handoffs HTTP/1.1\r\n'));
    expect(plain.problem).toMatch(/not a TLS record/);

    const old = new TlsDirection('server');
    old.push(1, true, Buffer.alloc(0));
    old.push(2, false, serverHello(0x0303));
    expect(old.problem).toMatch(/TLS 1.3/);
  });
});

describe('classify', () => {
  const pods: CapturedPod[] = ['s', 'd', 'b'].map((name, i) => ({
    name,
    address: `10.213.0.${10 + i}`,
    appPort: 8000,
    inboundPort: 15006,
    outboundPort: 15001,
    policyPort: 8181,
    files: { eth0: '', lo: '' },
  }));
  const attempt = (expected: 'allow' | 'deny'): Attempt => ({
    id: 0, marker: 'rmk0123456789abcdef', source: 's', destination: 'd', method: 'POST', path: '/x',
    expected, actual: expected, status: 200, startUs: 1_000_000, endUs: 2_000_000,
  });
  const request = Buffer.from('POST /x HTTP/1.1\r\nx-reelmesh-marker: rmk0123456789abcdef\r\n\r\n');
  const S = '10.213.0.10';
  const D = '10.213.0.11';
  const tlsFlow = (t: number): Seg[] => [
    { tsUs: t, src: S, dst: D, sport: 40000, dport: 15006, seq: 10, syn: true },
    { tsUs: t + 1, src: D, dst: S, sport: 15006, dport: 40000, seq: 50, syn: true },
    { tsUs: t + 2, src: S, dst: D, sport: 40000, dport: 15006, seq: 11, payload: clientHello },
    { tsUs: t + 3, src: D, dst: S, sport: 15006, dport: 40000, seq: 51, payload: serverHello(0x0304) },
    { tsUs: t + 4, src: S, dst: D, sport: 40000, dport: 15006, seq: 11 + clientHello.length, payload: appData },
  ];
  const setup = (name: string, veth: Seg[], dLo: Seg[], bystander: Seg[] = []) => {
    const [s, d, b] = pods.map((p) => ({ ...p, files: { eth0: '', lo: '' } }));
    s.files = { eth0: writePcap(`${name}-s-eth0`, veth), lo: writePcap(`${name}-s-lo`, [{ tsUs: 1_000_010, src: '127.0.0.1', dst: '127.0.0.1', sport: 5000, dport: 15001, seq: 1, payload: request }]) };
    d.files = { eth0: writePcap(`${name}-d-eth0`, veth), lo: writePcap(`${name}-d-lo`, dLo) };
    b.files = { eth0: writePcap(`${name}-b-eth0`, bystander), lo: writePcap(`${name}-b-lo`, []) };
    return [s, d, b];
  };
  const appHop: Seg[] = [{ tsUs: 1_000_500, src: '127.0.0.1', dst: '127.0.0.1', sport: 5001, dport: 8000, seq: 1, payload: request }];

  it('passes an allowed call that is TLS 1.3 on the veths and plaintext only on the destination loopback', () => {
    const verdicts = classify(setup('ok', tlsFlow(1_000_100), appHop), [attempt('allow')]);
    expect(verdicts).toHaveLength(6);
    expect(verdicts.filter((v) => v.verdict === 'fail')).toEqual([]);
    expect([...readPcap(writePcap('read-back', tlsFlow(1_000_100)))].map((p) => p.dport)).toEqual([15006, 40000, 15006, 40000, 15006]);
  });

  it('fails plaintext on the veth, a denied call reaching the app, and a bystander seeing the exchange', () => {
    const leak: Seg[] = [
      { tsUs: 1_000_100, src: S, dst: D, sport: 40001, dport: 15006, seq: 1, syn: true },
      { tsUs: 1_000_101, src: S, dst: D, sport: 40001, dport: 15006, seq: 2, payload: request },
    ];
    const verdicts = classify(setup('bad', leak, appHop, leak), [attempt('deny')]);
    const failed = (iface: string) => verdicts.find((v) => v.interface === iface)!.findings.join('; ');
    expect(failed('s/eth0')).toMatch(/marker visible in plaintext/);
    expect(failed('s/eth0')).toMatch(/not TLS 1.3 only/);
    expect(failed('d/lo')).toMatch(/denied call reached the destination app/);
    expect(failed('b/eth0')).toMatch(/seen by a bystander/);
  });

  it('fails an allowed call that never reached the destination app', () => {
    const verdicts = classify(setup('lost', tlsFlow(1_000_100), []), [attempt('allow')]);
    expect(verdicts.find((v) => v.interface === 'd/lo')!.findings).toEqual(['allowed call never reached the destination app']);
  });
});
