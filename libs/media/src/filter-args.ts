/** Escapes a value (e.g. a file path) for use inside a filtergraph option: ffmpeg parses the
 * graph twice, so quote for the option level, then escape the graph's special characters. */
export function escapeFilterValue(value: string): string {
  const quoted = `'${value.replace(/'/g, `'\\''`)}'`;
  return quoted.replace(/[\\'[\],;]/g, (c) => `\\${c}`);
}
