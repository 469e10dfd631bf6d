// @reelmesh/bench: statistics, plots and the markdown report of `reelmesh bench`.
export {
  oneWayAnova,
  ratioOfMeansCi,
  seededRandom,
  summarize,
  welchTTest,
  type AnovaResult,
  type RatioCi,
  type Summary,
  type WelchResult,
} from './stats';
export { distributionSpec, renderDistributionSvg, type DistributionPlot } from './plots';
export { fmt, renderMarkdown, renderTable, type Cell, type MarkdownReport, type ReportSection, type Table, type TargetCheck } from './markdown';
