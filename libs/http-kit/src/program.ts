import { fileURLToPath } from 'node:url';

/**
 * A program the runtime can start: its name (the Nx project, the image, the `service` of its
 * ready line) and its TypeScript entry. Each deployable exports one from its index.ts, so the
 * runtime imports the service it starts (and Nx sees the dependency) instead of naming a path.
 */
export interface Program {
  readonly name: string;
  /** Absolute path of src/main.ts. */
  readonly main: string;
}

/** `defineProgram('proxy-sidecar', import.meta.url)` in apps/proxy-sidecar/src/index.ts. */
export function defineProgram(name: string, indexUrl: string): Program {
  return Object.freeze({ name, main: fileURLToPath(new URL('./main.ts', indexUrl)) });
}
