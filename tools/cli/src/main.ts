import { Command, CommanderError } from 'commander';
import { registerDemo } from './commands/demo';
import { registerCerts } from './commands/certs';
import { registerGen } from './commands/gen';
import { registerVerify } from './commands/verify';
import { registerUp } from './commands/up';
import { registerBench } from './commands/bench';
import { registerProvenance } from './commands/provenance';
import { registerBuild } from './commands/build';
import { registerContractor } from './commands/contractor';
import { registerDashboard } from './commands/dashboard';

/** One readable line for anything that goes wrong; exit code 2 for usage, 1 otherwise. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('reelmesh')
    .description('ReelMesh: zero-trust media post-production workflows')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str.trim().split('\n')[0] + '\n') });
  registerDemo(program);
  registerGen(program);
  registerCerts(program);
  registerVerify(program);
  registerUp(program);
  registerBench(program);
  registerProvenance(program);
  registerBuild(program);
  registerContractor(program);
  registerDashboard(program);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    const message = (error as Error).message.split('\n')[0];
    process.stderr.write(`reelmesh: error: ${message}\n`);
    return 1;
  }
}
