// The JSON Schema for the workflow file: structure only (types, required fields, name shapes,
// ranges). Cross-references (unknown actor, cycles, ...) are checked in validate.ts.
// `hint` is our own annotation: the human wording used when a pattern/enum check fails.
import { NAME_HINT, NAME_PATTERN, TRUST_DOMAIN_HINT, TRUST_DOMAIN_PATTERN } from '@reelmesh/addressing';
import { DEINTERLACERS, FRAME_RATE_METHODS, MEZZANINE_CODECS, PCM_INTERMEDIATES, SCALERS, X265_PRESETS } from './types';

export const API_VERSION = 'reelmesh.io/v1';
export const KIND = 'Workflow';

// Names become DNS labels, SPIFFE path segments and URL segments: the one name rule of @reelmesh/addressing.
const name = { type: 'string', pattern: NAME_PATTERN, hint: NAME_HINT };
const positiveInteger = { type: 'integer', minimum: 1 };

function record(properties: Record<string, object>, optional: readonly string[] = []) {
  return {
    type: 'object',
    additionalProperties: false,
    required: Object.keys(properties).filter((key) => !optional.includes(key)),
    properties,
  };
}

export const WORKFLOW_SCHEMA = {
  $id: 'https://reelmesh.io/schemas/workflow-v1.json',
  ...record({
    apiVersion: { type: 'string', const: API_VERSION },
    kind: { type: 'string', const: KIND },
    metadata: record({
      id: name,
      title: { type: 'string', minLength: 1, maxLength: 200 },
      trustDomain: { type: 'string', maxLength: 253, pattern: TRUST_DOMAIN_PATTERN, hint: TRUST_DOMAIN_HINT },
    }),
    media: record(
      {
        // Chunks are cut on frames: ceil(chunkSeconds x frame rate) frames each. At least 1 s, so
        // every sound chunk after the first can carry its 1 s handle (docs/media.md).
        chunkSeconds: { type: 'number', minimum: 1, maximum: 600 },
        // Picture between contractors: a 10-bit mezzanine or lossless codec; sound: PCM >= 24 bits.
        intermediate: record({
          picture: { type: 'string', enum: [...MEZZANINE_CODECS], hint: 'a mezzanine codec' },
          sound: { type: 'string', enum: [...PCM_INTERMEDIATES], hint: 'a PCM format of 24 bits or more' },
        }),
        delivery: record(
          {
            // The final encode (HEVC Main 10): x265 preset and constant rate factor.
            x265: record({
              preset: { type: 'string', enum: [...X265_PRESETS], hint: 'an x265 preset' },
              crf: { type: 'number', minimum: 0, maximum: 51 },
            }),
            // Absent: the deliverable keeps the master's size, rate and channel layout.
            conform: record(
              {
                resolution: record({
                  // 4:2:0 chroma subsampling needs even dimensions.
                  width: { ...positiveInteger, maximum: 8192, multipleOf: 2 },
                  height: { ...positiveInteger, maximum: 8192, multipleOf: 2 },
                }),
                scaler: { type: 'string', enum: [...SCALERS], hint: 'a scaler' },
                // A frame rate as ffmpeg writes it: 25, 24000/1001, ...
                frameRate: { type: 'string', pattern: '^[1-9]\\d{0,5}(/[1-9]\\d{0,4})?$', hint: 'a frame rate such as "25" or "24000/1001"' },
                frameRateMethod: { type: 'string', enum: [...FRAME_RATE_METHODS], hint: 'a frame-rate method' },
                audio: record(
                  {
                    sampleRate: { ...positiveInteger, maximum: 384000 },
                    channels: { enum: [1, 2, 6], hint: '1 (mono), 2 (stereo) or 6 (5.1)' },
                  },
                  ['sampleRate', 'channels'],
                ),
              },
              ['resolution', 'scaler', 'frameRate', 'frameRateMethod', 'audio'],
            ),
          },
          ['conform'],
        ),
        // Interlaced masters are refused unless the workflow names how to deinterlace them.
        deinterlace: { type: 'string', enum: [...DEINTERLACERS], hint: 'a deinterlacer' },
      loudness: record({
        integratedLufs: { type: 'number', minimum: -70, maximum: 0 },
        truePeakDbtp: { type: 'number', minimum: -20, maximum: 0 },
      }),
      lut: record({
        ref: {
          type: 'string',
          pattern: '^(?!.*(^|/)\\.\\.(/|$))[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*\\.cube$',
          hint: 'a relative path to a .cube file, without ".." segments',
        },
        size: { type: 'integer', minimum: 2, maximum: 256 },
      }),
      hdr: record({
        masterDisplay: {
          type: 'string',
          pattern: '^G\\(\\d+,\\d+\\)B\\(\\d+,\\d+\\)R\\(\\d+,\\d+\\)WP\\(\\d+,\\d+\\)L\\(\\d+,\\d+\\)$',
          hint: 'x265 master-display syntax "G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min)"',
        },
        maxCll: { type: 'string', pattern: '^\\d+,\\d+$', hint: '"MaxCLL,MaxFALL" such as "1000,400"' },
      }),
      },
      ['deinterlace'],
    ),
    actors: {
      type: 'array',
      minItems: 1,
      maxItems: 1000,
      items: record({ name, description: { type: 'string', minLength: 1, maxLength: 500 } }),
    },
    agents: {
      type: 'array',
      minItems: 1,
      maxItems: 1000,
      items: record({ name, actor: name, app: name, role: name }, ['role']),
    },
    steps: {
      type: 'array',
      minItems: 1,
      maxItems: 1000,
      items: record(
        {
          name,
          agent: name,
          job: name,
          source: { type: 'boolean' },
          sink: { type: 'boolean' },
        },
        ['source', 'sink'],
      ),
    },
    jobs: {
      type: 'array',
      minItems: 1,
      maxItems: 1000,
      // An ffmpeg filter graph on one line; the filter job checks it against real ffmpeg at run time.
      items: record({ name, filter: { type: 'string', minLength: 1, maxLength: 4000, pattern: '^[^\\n\\r]*$', hint: 'an ffmpeg filter graph on one line' } }),
    },
    edges: {
      type: 'array',
      minItems: 1,
      maxItems: 1000,
      items: record({ from: name, to: name, artifact: name }),
    },
  }, ['jobs']),
} as const;
