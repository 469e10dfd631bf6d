import { rateString, type PictureFormat, type ProgrammeFormat, type SoundFormat } from '@reelmesh/media';

export interface FormatReport {
  master: FormatLine;
  delivery: FormatLine;
  /** What the workflow's conform changed (scaler named); absent when the master's format is kept. */
  conform?: string;
  frames: number;
  chunkFrames: number;
  /** One line for logs and the CLI. */
  summary: string;
}

interface FormatLine {
  width: number;
  height: number;
  frameRate: string;
  pixFmt: string;
  sound?: { sampleRate: number; channels: number; layout: string };
}

/** The run's format as the owner reports it: the master's, the delivery's, and any conform. */
export function describeFormat(format: ProgrammeFormat): FormatReport {
  const master = line(format.master.picture, format.master.sound);
  const delivery = line(format.picture, format.sound);
  const conform = format.conform
    ? [
        format.conform.resolution ? `picture ${master.width}x${master.height} -> ${delivery.width}x${delivery.height} (scaler ${format.conform.scaler})` : '',
        format.conform.frameRate ? `frame rate ${master.frameRate} -> ${delivery.frameRate} (${format.conform.frameRateMethod} frame)` : '',
        format.conform.audio ? `sound ${text(master.sound)} -> ${text(delivery.sound)}` : '',
      ]
        .filter(Boolean)
        .join('; ')
    : undefined;
  const summary =
    `${delivery.width}x${delivery.height} ${delivery.frameRate} fps, ${format.frames} frames in ${format.chunkCount} chunks of ${format.chunkFrames}` +
    `, sound ${text(delivery.sound)}` +
    (conform ? `; conform: ${conform}` : '; master format kept');
  return { master, delivery, ...(conform ? { conform } : {}), frames: format.frames, chunkFrames: format.chunkFrames, summary };
}

function line(picture: PictureFormat, sound?: SoundFormat): FormatLine {
  return {
    width: picture.width,
    height: picture.height,
    frameRate: rateString(picture.frameRate),
    pixFmt: picture.pixFmt,
    ...(sound ? { sound: { sampleRate: sound.sampleRate, channels: sound.channels, layout: sound.channelLayout } } : {}),
  };
}

function text(sound?: FormatLine['sound']): string {
  return sound ? `${sound.layout} ${sound.sampleRate} Hz` : 'none';
}
