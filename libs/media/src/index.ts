export type { MediaSettings, MezzanineCodec, Conform, Source } from './settings';
export { MediaError, type MediaErrorCode } from './errors';
export { ffmpegPath, ffprobePath, ffmpegSource, ffmpegThreads, mediaToolsEnv, MEDIA_TOOLS_ENV, releaseMajor, MIN_SYSTEM_FFMPEG_MAJOR, type BinarySource } from './binaries';
export { ffmpegVersion, versionAtLeast, parseFfmpegVersion, type FfmpegVersion } from './ffmpeg-version';
export { probe, probeFrameSideData, pictureStreamOf, onlyStreamOf, type MediaInfo, type StreamInfo } from './probe';
export type { ProbeInput } from './run-ffprobe';
export {
  CHANNEL_LAYOUTS,
  SOUND_HANDLE_SECONDS,
  bitDepthOf,
  chunkCountFor,
  chunkFrames,
  chunkFramesFor,
  chunkSamples,
  mezzaninePixelFormat,
  rateString,
  rateValue,
  sampleAtFrame,
  soundHandleSamples,
  type PictureFormat,
  type ProgrammeFormat,
  type Rational,
  type SoundFormat,
} from './format';
export { inspectMaster, timecode, type InspectOptions, type MasterInfo } from './inspect-master';
export { generateSample, type GenerateSampleOptions } from './generate-sample';
export { generateLut, filmLook, cubeLines, type GenerateLutOptions, type Rgb } from './generate-lut';
export { splitChunk, type SplitOptions } from './split-chunk';
export { demux, type DemuxOutputs } from './demux';
export { pictureFx, pictureFxGraph } from './picture-fx';
export { soundFx, SOUND_FX_CHAIN } from './sound-fx';
export { grade, gradeFilter, type GradeOptions } from './grade';
export { hdr10, HDR10_FILTER, x265Args, x265Hdr10Params } from './hdr10';
export {
  COMPRESSOR,
  EMPTY_ANALYSIS,
  analyseLoudness,
  combineAnalyses,
  integratedLoudness,
  limiterChain,
  masteringChain,
  programmeGain,
  renderLoudness,
  type LoudnessAnalysis,
} from './programme-loudness';
export { measureLoudness, type LoudnessStats } from './measure-loudness';
export { assemble, aacBitrate, type AssembleInputs } from './assemble';
// The public media API a contractor's own job module builds on (docs/contractors.md): run ffmpeg
// with piped input and output, traced into the chunk's provenance; hand a picture on in the
// workflow's mezzanine or as HDR10; a sound as PCM; or run a whole filter job.
export { mezzanineArgs, pcmIntermediate, outputArgs, inputArgs, KEEP_FRAMES, MATROSKA_PIPE } from './codec-args';
export { runFfmpeg, beforeJob, type FfmpegJob } from './run-ffmpeg';
export { filterJob, assertKeepsBitDepth, pqNits, depthOfName, type FilterJobOptions } from './filter-job';
export { runJobsInProcess, type InProcessOptions } from './in-process';
export { renderReference, type ReferenceOptions } from './reference-render';
export {
  decodeSound,
  distinctLumaValues,
  frameCount,
  loudnessOf,
  pictureQuality,
  streamsOf,
  type Loudness,
  type PictureQuality,
  type StreamReport,
} from './quality-metrics';
export { traceJob, currentTrace, noteAsset, noteInvocation, type JobParameters, type ToolInvocation } from './job-trace';
