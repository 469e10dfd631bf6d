import { describe, expect, it } from 'vitest';
import { ffmpegPath, ffmpegVersion, gradeFilter, parseFfmpegVersion, versionAtLeast } from './index';

describe('ffmpeg version', () => {
  it('parses release builds, and counts git snapshots (the bundled 2018 build) as 4.1', () => {
    expect(parseFfmpegVersion('ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026')).toEqual({ major: 5, minor: 1, raw: '5.1.9-0+deb12u1' });
    expect(parseFfmpegVersion('ffmpeg version n4.4.2 Copyright')).toMatchObject({ major: 4, minor: 4 });
    expect(parseFfmpegVersion('ffmpeg version N-47683-g0e8eb07980-static https://johnvansickle.com/ffmpeg/')).toEqual({
      major: 4, minor: 1, raw: 'N-47683-g0e8eb07980-static',
    });
    expect(versionAtLeast({ major: 5, minor: 1, raw: '' }, 5)).toBe(true);
    expect(versionAtLeast({ major: 4, minor: 4, raw: '' }, 5)).toBe(false);
    expect(versionAtLeast({ major: 6, minor: 0, raw: '' }, 5, 1)).toBe(true);
  });

  it('asks the binary jobs run once per path, and fails clearly for a missing one', async () => {
    const first = ffmpegVersion();
    expect(ffmpegVersion(ffmpegPath())).toBe(first); // cached
    expect((await first).major).toBeGreaterThanOrEqual(4);
    await expect(ffmpegVersion('/nonexistent/ffmpeg')).rejects.toMatchObject({ code: 'MEDIA_JOB_FAILED', message: expect.stringContaining('/nonexistent/ffmpeg') });
  });

  it('the grade takes lut3d\'s planar 16-bit path from ffmpeg 5 on, packed 16-bit RGB before, and returns to the picture\'s own format', () => {
    expect(gradeFilter('/luts/look.cube', { major: 5, minor: 1, raw: '' }, 'yuv422p10le')).toMatch(
      /^scale=in_color_matrix=bt709:in_range=tv:flags=[^,]+,format=gbrp16le,lut3d=file=.*look\.cube.*:interp=tetrahedral,scale=out_color_matrix=bt709:out_range=tv:flags=[^,]+,format=yuv422p10le$/,
    );
    expect(gradeFilter('/luts/look.cube', { major: 4, minor: 1, raw: '' }, 'yuv420p10le')).toMatch(/format=rgb48le,lut3d=.*format=yuv420p10le$/);
  });
});
