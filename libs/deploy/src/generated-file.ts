/** One generated file: path relative to the repository root, and its exact bytes. */
export interface DeployFile {
  readonly path: string;
  readonly content: string;
}
