// Test helpers shared by this project's specs (not exported from index.ts).
import { KMSClient } from '@aws-sdk/client-kms';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalKms } from './server';
import type { PrincipalMap } from './principals';

export const REGION = 'us-east-1';

export async function tempDir(): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'kms-local-'));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** The unmodified AWS SDK client, pointed at the local server with one access key. */
export function sdkClient(kms: Pick<LocalKms, 'endpoint'>, accessKeyId: string, secretAccessKey: string): KMSClient {
  return new KMSClient({
    endpoint: kms.endpoint,
    region: REGION,
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts: 1,
  });
}

export function clientAs(kms: LocalKms, principals: PrincipalMap, principal: string): KMSClient {
  const entry = Object.entries(principals).find(([, c]) => c.principal === principal);
  if (!entry) throw new Error(`no credential for ${principal}`);
  return sdkClient(kms, entry[0], entry[1].secretAccessKey);
}

// --- Raw signed requests, for what the SDK would never send (bad bodies, unknown targets, skew). ---

/** node:crypto behind the Checksum interface smithy's signer expects. */
export class NodeSha256 {
  private hash: Hash | Hmac;
  private readonly secret?: string | Buffer;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.secret =
      secret === undefined || typeof secret === 'string'
        ? secret
        : ArrayBuffer.isView(secret)
          ? Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength)
          : Buffer.from(secret);
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
  update(data: string | Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

export interface RawRequest {
  accessKeyId: string;
  secretAccessKey: string;
  target?: string;
  body?: string;
  contentType?: string;
  method?: string;
  signingDate?: Date;
  /** Change the request after signing (to prove tampering is caught). */
  afterSigning?: (req: { headers: Record<string, string>; body: string }) => void;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: Record<string, unknown>;
}

/** Signs with smithy's SignatureV4 (the SDK's signer) and sends with node:http to the endpoint the server reported. */
export async function signedRequest(kms: Pick<LocalKms, 'endpoint'>, raw: RawRequest): Promise<RawResponse> {
  const url = new URL(kms.endpoint);
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port);
  const signer = new SignatureV4({
    credentials: { accessKeyId: raw.accessKeyId, secretAccessKey: raw.secretAccessKey },
    region: REGION,
    service: 'kms',
    sha256: NodeSha256,
  });
  const body = raw.body ?? '{}';
  const headers: Record<string, string> = {
    host: url.host,
    'content-type': raw.contentType ?? 'application/x-amz-json-1.1',
  };
  if (raw.target !== undefined) headers['x-amz-target'] = raw.target;
  const signed = await signer.sign(
    { method: raw.method ?? 'POST', protocol: 'http:', hostname, port, path: '/', query: {}, headers, body },
    { signingDate: raw.signingDate },
  );
  const out = { headers: { ...(signed.headers as Record<string, string>) }, body };
  raw.afterSigning?.(out);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: hostname, port, method: raw.method ?? 'POST', path: '/', headers: out.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json: text ? JSON.parse(text) : {} });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(out.body);
  });
}
