/**
 * The fenced block that follows `<!-- example: <path> -->` in a markdown page: docs show a tested
 * file's text and a test keeps the two byte-identical.
 */
export function exampleBlock(page: string, path: string): string | undefined {
  const at = page.indexOf(`<!-- example: ${path} -->`);
  if (at < 0) return undefined;
  return /\n```[a-z]*\n([\s\S]*?)```\n/.exec(page.slice(at))?.[1];
}
