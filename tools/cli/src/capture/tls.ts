/**
 * A streaming check that one direction of a TCP flow is TLS 1.3 and nothing else: a sequence
 * of well-formed records (handshake, change_cipher_spec, alert, application_data), the client
 * opening with a ClientHello, the server answering with a ServerHello that selects TLS 1.3
 * (supported_versions = 0x0304). Any plaintext HTTP or media would break the record framing.
 */
export class TlsDirection {
  private nextSeq: number | undefined;
  private header = Buffer.alloc(0);
  private remaining = 0;
  private first: Buffer | undefined = Buffer.alloc(0);
  private firstLength = -1;
  records = 0;
  problem: string | undefined;
  tls13: boolean | undefined;

  constructor(private readonly role: 'client' | 'server') {}

  /** Feed one segment (in capture order; retransmitted bytes are skipped). */
  push(seq: number, syn: boolean, payload: Buffer): void {
    if (syn) {
      this.nextSeq = (seq + 1) >>> 0;
      return;
    }
    if (!payload.length || this.problem) return;
    if (this.nextSeq === undefined) return this.fail('flow started before the capture (no SYN seen)');
    const offset = (this.nextSeq - seq) | 0;
    if (offset >= payload.length) return; // a retransmission
    if (offset < 0) return this.fail('bytes missing from the capture');
    this.feed(payload.subarray(offset));
    this.nextSeq = (seq + payload.length) >>> 0;
  }

  private fail(why: string): void {
    this.problem ??= why;
  }

  private feed(bytes: Buffer): void {
    let i = 0;
    while (i < bytes.length && !this.problem) {
      if (this.remaining === 0) {
        const need = 5 - this.header.length;
        this.header = Buffer.concat([this.header, bytes.subarray(i, i + need)]);
        i += Math.min(need, bytes.length - i);
        if (this.header.length < 5) return;
        const type = this.header[0];
        const version = this.header.readUInt16BE(1);
        const length = this.header.readUInt16BE(3);
        if (![20, 21, 22, 23].includes(type) || (version !== 0x0301 && version !== 0x0303) || length === 0 || length > 16384 + 256) {
          return this.fail(`not a TLS record (bytes ${this.header.toString('hex')}: ${JSON.stringify(this.header.toString('latin1'))})`);
        }
        if (this.records === 0 && type !== 22) return this.fail('first record is not a handshake');
        if (this.records > 0 && type === 22 && this.tls13) return this.fail('plaintext handshake record after the hello (not TLS 1.3)');
        this.records++;
        this.remaining = length;
        if (this.records === 1) this.firstLength = length;
        this.header = Buffer.alloc(0);
        continue;
      }
      const take = Math.min(this.remaining, bytes.length - i);
      if (this.first && this.records === 1) {
        this.first = Buffer.concat([this.first, bytes.subarray(i, i + take)]);
        if (this.first.length === this.firstLength) this.checkHello(this.first);
      }
      this.remaining -= take;
      i += take;
    }
  }

  private checkHello(msg: Buffer): void {
    this.first = undefined;
    const expected = this.role === 'client' ? 1 : 2;
    if (msg[0] !== expected) return this.fail(`first handshake message is type ${msg[0]}, expected ${expected}`);
    if (this.role === 'client') return;
    // ServerHello: type(1) len(3) version(2) random(32) session_id<1> cipher(2) compression(1) extensions<2>
    let p = 4 + 2 + 32;
    p += 1 + msg[p];
    p += 3;
    const end = p + 2 + msg.readUInt16BE(p);
    p += 2;
    this.tls13 = false;
    while (p + 4 <= end) {
      const type = msg.readUInt16BE(p);
      const length = msg.readUInt16BE(p + 2);
      if (type === 0x002b && length === 2) this.tls13 = msg.readUInt16BE(p + 4) === 0x0304;
      p += 4 + length;
    }
    if (!this.tls13) this.fail('ServerHello did not select TLS 1.3');
  }
}
