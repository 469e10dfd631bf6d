import { describe, expect, it } from 'vitest';
import {
  checkHandoffPath,
  formatSpiffeId,
  handoffPath,
  handoffPattern,
  handoffSubject,
  HANDOFF_ROUTE,
  isName,
  parseChunkIndex,
  parseHandoffPath,
  parseSpiffeId,
  readSpiffeId,
  spiffeIdOfCertificate,
  splitHandoffPath,
} from './index';

const at = (chunkIndex: number) => ({ workflowId: 'feature-film', step: 'demux', artifact: 'av', chunkIndex });

describe('the name rule', () => {
  it.each(['a', 'vfx-1', 'a'.repeat(63), 'sound-master'])('accepts %s', (name) => expect(isName(name)).toBe(true));
  it.each(['', 'A', '1abc', '-a', 'a-', 'a_b', 'a.b', 'a'.repeat(64), '..', 'a/b', '%61', 7, null])('refuses %s', (name) => expect(isName(name)).toBe(false));
});

describe('the handoff address', () => {
  it('builds, patterns and parses the one path shape', () => {
    expect(HANDOFF_ROUTE).toBe('/v1/handoffs/:workflowId/:step/:artifact/:chunkIndex');
    expect(handoffPath(at(3))).toBe('/v1/handoffs/feature-film/demux/av/3');
    expect(handoffPattern('feature-film', 'demux', 'av')).toBe('/v1/handoffs/feature-film/demux/av/{chunk}');
    expect(handoffSubject(at(3))).toBe('feature-film/demux/av/3');
    expect(parseHandoffPath('/v1/handoffs/feature-film/demux/av/3')).toEqual(at(3));
    expect(parseHandoffPath('/v1/handoffs/feature-film/demux/av')).toBeUndefined();
  });

  it('refuses values that would bend the URL', () => {
    expect(() => handoffPath(at(-1))).toThrow(RangeError);
    expect(() => handoffPath(at(1.5))).toThrow(RangeError);
    expect(() => handoffPath(at(1e15))).toThrow(RangeError);
    expect(handoffPath(at(1e15 - 1))).toBe('/v1/handoffs/feature-film/demux/av/999999999999999');
    expect(() => handoffPath({ ...at(1), step: '../admin' })).toThrow(TypeError);
    expect(() => handoffPath({ ...at(1), artifact: 'a/v' })).toThrow(TypeError);
  });

  it('reads a chunk index only in its canonical decimal form', () => {
    expect(parseChunkIndex('0')).toBe(0);
    expect(parseChunkIndex('7')).toBe(7);
    expect(parseChunkIndex('999999999999999')).toBe(999999999999999);
    for (const bad of ['007', '00', '+7', '-1', '7.0', '1e3', '0x7', '%37', '٧', '7 ', '', '1000000000000000', '7?x=1']) {
      expect(parseChunkIndex(bad), bad).toBeUndefined();
    }
  });

  it('treats /007 as no chunk at all, for receivers and the policy alike', () => {
    expect(checkHandoffPath('/v1/handoffs/feature-film/demux/av/007')).toEqual({ ok: false, problem: 'chunk', value: '007' });
    expect(splitHandoffPath('/v1/handoffs/feature-film/demux/av/007')).toBeUndefined();
    expect(parseHandoffPath('/v1/handoffs/feature-film/demux/av/%37')).toBeUndefined();
    expect(parseHandoffPath('/v1/handoffs/feature-film/demux/av/7?retry=1')).toBeUndefined();
  });

  it('says which part of a raw target is wrong', () => {
    expect(checkHandoffPath('/v1/handoffs/feature-film/../av/0')).toEqual({ ok: false, problem: 'name', field: 'step', value: '..' });
    expect(checkHandoffPath('/v1/handoffs/feature-film//av/0')).toEqual({ ok: false, problem: 'name', field: 'step', value: '' });
    expect(checkHandoffPath('/v1/handoffs/%2e%2e/demux/av/0')).toMatchObject({ problem: 'name', field: 'workflow id' });
    expect(checkHandoffPath('/v1/handoffs/feature-film/demux/av/../../x/0')).toEqual({ ok: false, problem: 'chunk', value: '../../x/0' });
    expect(checkHandoffPath('/v1/runs')).toEqual({ ok: false, problem: 'not-handoff' });
    expect(checkHandoffPath('/v1/handoffs/feature-film/demux/av/12')).toEqual({ ok: true, address: at(12) });
  });

  it('splits the raw shape without judging names (the policy looks them up)', () => {
    expect(splitHandoffPath('/v1/handoffs/../demux/av/0')).toEqual({ workflowId: '..', step: 'demux', artifact: 'av', chunkIndex: 0 });
    expect(splitHandoffPath('/v1/handoffs/a/b/c/d/0')).toBeUndefined();
    expect(splitHandoffPath('/v2/handoffs/a/b/c/0')).toBeUndefined();
    expect(splitHandoffPath(42)).toBeUndefined();
  });
});

describe('workload identities', () => {
  it('formats and parses spiffe://<td>/ns/<actor>/sa/<agent>', () => {
    const id = formatSpiffeId({ trustDomain: 'reelmesh.local', actor: 'vfx', agent: 'vfx-2' });
    expect(id).toBe('spiffe://reelmesh.local/ns/vfx/sa/vfx-2');
    expect(parseSpiffeId(id)).toEqual({ trustDomain: 'reelmesh.local', actor: 'vfx', agent: 'vfx-2' });
  });

  it.each([
    'spiffe://reelmesh.local/ns/vfx/sa/vfx-2/',
    'spiffe://reelmesh.local/ns/vfx/sa/VFX-2',
    'spiffe://Reelmesh.local/ns/vfx/sa/vfx-2',
    'spiffe://reelmesh.local/ns/vfx/sa/vfx-',
    'spiffe://reelmesh.local/sa/vfx/ns/vfx-2',
    'http://reelmesh.local/ns/vfx/sa/vfx-2',
    'spiffe://reelmesh.local//ns/vfx/sa/vfx-2',
  ])('refuses %s', (id) => {
    expect(readSpiffeId(id)).toBeUndefined();
    expect(() => parseSpiffeId(id)).toThrow(/invalid SPIFFE id/);
  });

  it('refuses to format an id from parts that are not names', () => {
    expect(() => formatSpiffeId({ trustDomain: 'reelmesh.local', actor: 'vfx', agent: 'a/b' })).toThrow(TypeError);
    expect(() => formatSpiffeId({ trustDomain: 'Reelmesh', actor: 'vfx', agent: 'x' })).toThrow(TypeError);
  });

  it('reads a certificate identity only from its one URI SAN', () => {
    const id = 'spiffe://reelmesh.local/ns/vfx/sa/vfx-2';
    expect(spiffeIdOfCertificate(`URI:${id}`)).toBe(id);
    expect(spiffeIdOfCertificate(`DNS:vfx-2.local, URI:${id}`)).toBe(id);
    expect(spiffeIdOfCertificate({ subjectaltname: `URI:${id}` })).toBe(id);
    expect(spiffeIdOfCertificate(`URI:${id}, URI:spiffe://reelmesh.local/ns/owner/sa/owner`)).toBeUndefined();
    expect(spiffeIdOfCertificate('URI:https://example.com/')).toBeUndefined();
    expect(spiffeIdOfCertificate('DNS:vfx-2.local')).toBeUndefined();
    expect(spiffeIdOfCertificate(undefined)).toBeUndefined();
  });
});
