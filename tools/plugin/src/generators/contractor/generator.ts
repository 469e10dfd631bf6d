import type { Tree } from '@nx/devkit';
import { applyToTree, treeFiles } from '../../contractor/nx-tree';
import { describePlan, planAddContractor, type AddContractorOptions } from '../../contractor/plan';

/** `nx g @reelmesh/plugin:contractor <name> --after … --before … --artifact … (--filter … | --job …) [--actor …]`. */
export async function contractorGenerator(tree: Tree, options: AddContractorOptions): Promise<void> {
  const plan = planAddContractor(treeFiles(tree), options);
  // Nx lists the files itself (CREATE/UPDATE/DELETE); the edges are ours to say.
  for (const line of describePlan(plan).filter((l) => !/^(created|changed|deleted): /.test(l))) process.stdout.write(`${line}\n`);
  applyToTree(tree, plan.changes);
}

export default contractorGenerator;
