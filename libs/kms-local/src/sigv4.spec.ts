import { describe, it, expect } from 'vitest';
import { SignatureV4 } from '@smithy/signature-v4';
import { verifySigV4, type SignedRequest } from './sigv4';
import { NodeSha256 } from './kms-test-support';

const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const AKID = 'AKIDEXAMPLE';
const NOW = new Date('2015-08-30T12:36:00Z');

/** Signs with smithy's SignatureV4 (what the AWS SDK uses) and returns what a server would see. */
async function smithySigned(opts: {
  path?: string;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
  body?: string;
  region?: string;
  service?: string;
  secret?: string;
  date?: Date;
}): Promise<SignedRequest> {
  const signer = new SignatureV4({
    credentials: { accessKeyId: AKID, secretAccessKey: opts.secret ?? SECRET },
    region: opts.region ?? 'us-east-1',
    service: opts.service ?? 'kms',
    sha256: NodeSha256,
  });
  const path = opts.path ?? '/';
  const query = opts.query ?? {};
  const body = opts.body ?? '{}';
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: 'localhost',
      path,
      query,
      headers: { host: 'localhost:4000', 'x-amz-target': 'TrentService.Encrypt', ...opts.headers },
      body,
    },
    { signingDate: opts.date ?? NOW },
  );
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) for (const item of [v].flat()) qs.append(k, item);
  const queryText = qs.toString().replace(/\+/g, '%20');
  return {
    method: 'POST',
    url: queryText ? `${path}?${queryText}` : path,
    rawHeaders: Object.entries(signed.headers as Record<string, string>).flat(),
    body: Buffer.from(body),
  };
}

const verify = (req: SignedRequest, extra: Partial<Parameters<typeof verifySigV4>[1]> = {}) =>
  verifySigV4(req, {
    service: 'kms',
    secretFor: (id) => (id === AKID ? SECRET : undefined),
    requiredSignedHeaders: ['x-amz-target'],
    nowMs: NOW.getTime(),
    ...extra,
  });

function setHeader(req: SignedRequest, name: string, value: string): SignedRequest {
  const raw = [...req.rawHeaders];
  const at = raw.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === name);
  if (at === -1) raw.push(name, value);
  else raw[at + 1] = value;
  return { ...req, rawHeaders: raw };
}

describe('verifySigV4 against smithy SignatureV4', () => {
  it('accepts what the SDK signer produces and names the caller and region', async () => {
    expect(verify(await smithySigned({ region: 'eu-west-3' }))).toEqual({ accessKeyId: AKID, region: 'eu-west-3' });
  });

  it('canonicalises paths, queries and messy header whitespace the same way', async () => {
    const req = await smithySigned({
      path: '/a/./b/../c d/',
      query: { 'z key': 'v/1', a: ['2', '1'], 'x*': "it's" },
      headers: { 'x-amz-meta': '  spaced   out  value ' },
    });
    expect(verify(req).accessKeyId).toBe(AKID);
  });

  it('rejects a changed body, target, or date, and a wrong secret', async () => {
    const req = await smithySigned({ body: '{"Plaintext":"aGk="}' });
    expect(() => verify({ ...req, body: Buffer.from('{"Plaintext":"aGo="}') })).toThrow(
      expect.objectContaining({ type: 'InvalidSignatureException' }),
    );
    expect(() => verify(setHeader(req, 'x-amz-target', 'TrentService.Decrypt'))).toThrow(
      expect.objectContaining({ type: 'InvalidSignatureException' }),
    );
    expect(() => verify(setHeader(req, 'x-amz-date', '20150830T123601Z'))).toThrow(
      expect.objectContaining({ type: 'InvalidSignatureException' }),
    );
    const wrongSecret = await smithySigned({ secret: 'not-the-secret' });
    expect(() => verify(wrongSecret)).toThrow(expect.objectContaining({ type: 'InvalidSignatureException' }));
  });

  it('rejects unknown access keys, missing auth and foreign services', async () => {
    const req = await smithySigned({});
    expect(() => verify(req, { secretFor: () => undefined })).toThrow(
      expect.objectContaining({ type: 'UnrecognizedClientException' }),
    );
    const noAuth = { ...req, rawHeaders: req.rawHeaders.filter((_, i, a) => a[i - (i % 2)].toLowerCase() !== 'authorization') };
    expect(() => verify(noAuth)).toThrow(expect.objectContaining({ type: 'MissingAuthenticationTokenException' }));
    const s3 = await smithySigned({ service: 's3' });
    expect(() => verify(s3)).toThrow(
      expect.objectContaining({ type: 'InvalidSignatureException' }),
    );
  });

  it('enforces the region only when one is configured', async () => {
    const req = await smithySigned({ region: 'eu-west-3' });
    expect(() => verify(req, { region: 'us-east-1' })).toThrow(expect.objectContaining({ type: 'InvalidSignatureException' }));
    expect(verify(req, { region: 'eu-west-3' }).region).toBe('eu-west-3');
  });

  it('rejects a clock skew over five minutes either way', async () => {
    const req = await smithySigned({});
    const minute = 60_000;
    expect(verify(req, { nowMs: NOW.getTime() + 5 * minute }).accessKeyId).toBe(AKID);
    for (const nowMs of [NOW.getTime() + 5 * minute + 1000, NOW.getTime() - 6 * minute]) {
      expect(() => verify(req, { nowMs })).toThrow(expect.objectContaining({ type: 'InvalidSignatureException', message: expect.stringMatching(/expired/) }));
    }
  });

  it('requires the target to be signed and a declared payload hash to match', async () => {
    // Signed without the target, then a target added: the operation would be the attacker's choice.
    const signer = new SignatureV4({ credentials: { accessKeyId: AKID, secretAccessKey: SECRET }, region: 'us-east-1', service: 'kms', sha256: NodeSha256 });
    const signed = await signer.sign(
      { method: 'POST', protocol: 'http:', hostname: 'localhost', path: '/', query: {}, headers: { host: 'localhost:4000' }, body: '{}' },
      { signingDate: NOW },
    );
    const rawHeaders = [...Object.entries(signed.headers as Record<string, string>).flat(), 'x-amz-target', 'TrentService.Decrypt'];
    expect(() => verify({ method: 'POST', url: '/', rawHeaders, body: Buffer.from('{}') })).toThrow(
      expect.objectContaining({ type: 'InvalidSignatureException', message: expect.stringMatching(/x-amz-target/) }),
    );

    const withHash = await smithySigned({ headers: { 'x-amz-content-sha256': '0'.repeat(64) } });
    expect(() => verify(withHash)).toThrow(expect.objectContaining({ message: expect.stringMatching(/x-amz-content-sha256/) }));
  });
});
