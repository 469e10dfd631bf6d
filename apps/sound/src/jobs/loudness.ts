import { programmeStep, type AgentDeps, type JobHandler } from '@reelmesh/agent-kit';
import { analyseLoudness, combineAnalyses, renderLoudness, type LoudnessAnalysis } from '@reelmesh/media';

/** Compression, one EBU R128 gain for the whole programme, a true-peak ceiling. Each chunk is
 * analysed as it arrives; once the programme's loudness is known, every chunk is rendered with the
 * same gain (docs/media.md, "Programme loudness"). */
export function loudnessJob(deps: AgentDeps): JobHandler {
  const media = deps.workflow.media;
  return programmeStep<LoudnessAnalysis>({
    analyse: ({ inputs, chunkIndex }) => analyseLoudness(inputs.sound, chunkIndex),
    combine: combineAnalyses,
    render: ({ inputs, outputs }, programme) => renderLoudness(inputs.sound, outputs.sound, programme, media),
  });
}
