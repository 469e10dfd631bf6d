import { describe, expect, it } from 'vitest';
import type { ProgrammeFormat } from '@reelmesh/media';
import { describeFormat } from './format-report';

const picture = { width: 320, height: 240, frameRate: { num: 25, den: 1 }, pixFmt: 'yuv420p', mezzaninePixFmt: 'yuv420p10le', interlaced: false };
const sound = { sampleRate: 48000, channels: 2, channelLayout: 'stereo' };

describe("the owner's format report: never a silent change", () => {
  it('says the master format is kept when there is no conform', () => {
    const report = describeFormat({ picture, sound, master: { picture, sound }, frames: 150, chunkFrames: 50, chunkCount: 3 });
    expect(report.conform).toBeUndefined();
    expect(report.summary).toBe('320x240 25/1 fps, 150 frames in 3 chunks of 50, sound stereo 48000 Hz; master format kept');
  });

  it('names every change of a conform with its method', () => {
    const format: ProgrammeFormat = {
      picture: { ...picture, width: 160, height: 120, frameRate: { num: 24, den: 1 } },
      sound: { sampleRate: 44100, channels: 1, channelLayout: 'mono' },
      master: { picture, sound },
      frames: 144,
      chunkFrames: 48,
      chunkCount: 3,
      conform: { resolution: { width: 160, height: 120 }, scaler: 'lanczos', frameRate: '24', frameRateMethod: 'nearest', audio: { sampleRate: 44100, channels: 1 } },
    };
    expect(describeFormat(format).conform).toBe(
      'picture 320x240 -> 160x120 (scaler lanczos); frame rate 25/1 -> 24/1 (nearest frame); sound stereo 48000 Hz -> mono 44100 Hz',
    );
  });
});
