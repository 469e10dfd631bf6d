export type MediaErrorCode =
  | 'MEDIA_NOT_FOUND'
  | 'MEDIA_EMPTY'
  | 'MEDIA_UNREADABLE'
  | 'MEDIA_NO_VIDEO'
  | 'MEDIA_NO_AUDIO'
  | 'MEDIA_UNSUPPORTED_FORMAT'
  | 'MEDIA_DAMAGED'
  | 'MEDIA_INVALID_ARGUMENT'
  | 'MEDIA_INPUT_FAILED'
  | 'MEDIA_OUTPUT_FAILED'
  | 'MEDIA_ABORTED'
  | 'MEDIA_JOB_FAILED'
  // A filter job's own refusals (docs/contractors.md): the picture must keep its bit depth and, after
  // HDR mastering, its highlights must stay within the declared MaxCLL.
  | 'MEDIA_BIT_DEPTH_DROPPED'
  | 'MEDIA_HDR_PEAK_EXCEEDED';

/** The one error type of this library: a stable code for callers, a message for humans. */
export class MediaError extends Error {
  override readonly name = 'MediaError';
  constructor(
    readonly code: MediaErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Last meaningful lines of an ffmpeg/ffprobe stderr, for error messages. */
export function stderrTail(stderr: string, lines = 6): string {
  return stderr
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .slice(-lines)
    .join(' | ');
}

const UNREADABLE_PATTERNS = [
  /Invalid data found when processing input/i,
  /could not find codec parameters/i,
  /EBML header parsing failed/i,
  /moov atom not found/i,
  /Format .* detected only with low score/i,
  /Output file #0 does not contain any stream/i,
  /does not contain any stream/i,
];

/** ffmpeg failed: was it the input that could not be read as media, or the job itself? */
export function classifyFfmpegFailure(job: string, stderr: string, fallback = 'ffmpeg failed'): MediaError {
  const tail = stderrTail(stderr) || fallback;
  if (UNREADABLE_PATTERNS.some((pattern) => pattern.test(stderr))) {
    return new MediaError('MEDIA_UNREADABLE', `${job}: input is not readable media (${tail})`);
  }
  return new MediaError('MEDIA_JOB_FAILED', `${job}: ${fallback} (${tail})`);
}
