import { CST } from 'yaml';

/**
 * How deep collections may nest in a config file (issue 13's fuzz corpus: 20k nested `[` made
 * the parser's composer overflow the stack, and the file was rejected with "Maximum call stack
 * size exceeded"). The deepest real config is about 8 levels (registries → a registry →
 * upstreams → an upstream → breaker …); every walk of the tree after this check is recursive,
 * so it has to come first, on the parser's tokens, which are built without recursion.
 */
export const MAX_CONFIG_DEPTH = 64;

/**
 * The offset of the first collection nested more than `max` deep in `tokens` (the parser's
 * CST, in document order), or undefined. Iterative: the walk's own stack is an array.
 */
export function firstTooDeep(tokens: readonly CST.Token[], max = MAX_CONFIG_DEPTH): number | undefined {
  const stack: { token: CST.Token; depth: number }[] = tokens.map((token) => ({ token, depth: 0 })).reverse();
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { token, depth } = next;
    if (token.type === 'document' && token.value !== undefined) stack.push({ token: token.value, depth });
    if (!CST.isCollection(token)) continue;
    if (depth + 1 > max) return token.offset;
    // Reversed, so that the first item is looked at first and the offset found is the first in the file.
    for (let i = token.items.length - 1; i >= 0; i--) {
      const item = token.items[i]!;
      if (item.value !== undefined) stack.push({ token: item.value, depth: depth + 1 });
      if (item.key !== undefined && item.key !== null) stack.push({ token: item.key, depth: depth + 1 });
    }
  }
  return undefined;
}
