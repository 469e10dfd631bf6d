import type { Tree } from '@nx/devkit';
import { applyToTree, treeFiles } from '../../contractor/nx-tree';
import { describePlan, planRemoveContractor } from '../../contractor/plan';

/** `nx g @reelmesh/plugin:contractor-remove <name>`. */
export async function contractorRemoveGenerator(tree: Tree, options: { name: string }): Promise<void> {
  const plan = planRemoveContractor(treeFiles(tree), options.name);
  for (const line of describePlan(plan).filter((l) => !/^(created|changed|deleted): /.test(l))) process.stdout.write(`${line}\n`);
  applyToTree(tree, plan.changes);
}

export default contractorRemoveGenerator;
