// Nx loads generator implementations with require(); on Node 20, with neither swc-node nor ts-node
// installed, it cannot load TypeScript. The workspace runs its TypeScript through tsx (as the
// reelmesh CLI does), so this shim imports generator.ts through tsx with the workspace's path aliases.
module.exports = async function generator(tree, options) {
  const [{ join }, { pathToFileURL }, { tsImport }] = await Promise.all([import('node:path'), import('node:url'), import('tsx/esm/api')]);
  const tsconfig = join(__dirname, '../../../../../tsconfig.json');
  const { default: implementation } = await tsImport('./generator.ts', { parentURL: pathToFileURL(__filename).href, tsconfig });
  return implementation(tree, options);
};
