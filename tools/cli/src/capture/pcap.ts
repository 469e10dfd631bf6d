import { closeSync, openSync, readSync } from 'node:fs';

/** One TCP/IPv4 segment from a pcap file (everything else is skipped). */
export interface TcpPacket {
  /** Capture time, microseconds since the epoch. */
  tsUs: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  flags: number;
  payload: Buffer;
}

export const TCP_SYN = 0x02;

const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW = 101;
const LINKTYPE_LINUX_SLL = 113;

/**
 * Streams the TCP/IPv4 segments of a classic pcap file (what tcpdump -w writes), reading it in
 * small pieces so memory stays flat however long the capture is. Handles both byte orders and
 * micro/nanosecond timestamps; Ethernet (veth, lo on Linux), raw IP and Linux cooked links.
 */
export function* readPcap(file: string): Generator<TcpPacket> {
  const fd = openSync(file, 'r');
  try {
    let position = 0;
    const read = (length: number): Buffer | undefined => {
      const buf = Buffer.alloc(length);
      const n = readSync(fd, buf, 0, length, position);
      position += n;
      return n === length ? buf : undefined;
    };
    const header = read(24);
    if (!header) return;
    const magicLe = header.readUInt32LE(0);
    let le: boolean;
    let nano: boolean;
    if (magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d) [le, nano] = [true, magicLe === 0xa1b23c4d];
    else if (header.readUInt32BE(0) === 0xa1b2c3d4 || header.readUInt32BE(0) === 0xa1b23c4d) [le, nano] = [false, header.readUInt32BE(0) === 0xa1b23c4d];
    else throw new Error(`${file} is not a pcap file`);
    const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const linkType = u32(header, 20);
    for (;;) {
      const rec = read(16);
      if (!rec) return;
      const caplen = u32(rec, 8);
      const data = read(caplen);
      if (!data) return; // a record cut short by a killed tcpdump
      const tsUs = u32(rec, 0) * 1e6 + (nano ? Math.floor(u32(rec, 4) / 1000) : u32(rec, 4));
      const ip = ipPayload(data, linkType);
      if (!ip) continue;
      const packet = parseTcp(ip, tsUs);
      if (packet) yield packet;
    }
  } finally {
    closeSync(fd);
  }
}

function ipPayload(frame: Buffer, linkType: number): Buffer | undefined {
  if (linkType === LINKTYPE_RAW) return frame;
  if (linkType === LINKTYPE_ETHERNET) return frame.length >= 14 && frame.readUInt16BE(12) === 0x0800 ? frame.subarray(14) : undefined;
  if (linkType === LINKTYPE_LINUX_SLL) return frame.length >= 16 && frame.readUInt16BE(14) === 0x0800 ? frame.subarray(16) : undefined;
  return undefined;
}

function parseTcp(ip: Buffer, tsUs: number): TcpPacket | undefined {
  if (ip.length < 20 || ip[0] >> 4 !== 4 || ip[9] !== 6) return undefined;
  const ihl = (ip[0] & 0x0f) * 4;
  const total = Math.min(ip.readUInt16BE(2), ip.length);
  const tcp = ip.subarray(ihl, total);
  if (tcp.length < 20) return undefined;
  const dataOffset = (tcp[12] >> 4) * 4;
  return {
    tsUs,
    src: `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`,
    dst: `${ip[16]}.${ip[17]}.${ip[18]}.${ip[19]}`,
    sport: tcp.readUInt16BE(0),
    dport: tcp.readUInt16BE(2),
    seq: tcp.readUInt32BE(4),
    flags: tcp[13],
    payload: tcp.subarray(dataOffset),
  };
}
