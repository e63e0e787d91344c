import { visit, type Alias, type Document } from 'yaml';

/**
 * `*name` without a preceding `&name`. The yaml parser only notices these
 * when converting to JS, which this module never does, so they are looked for
 * explicitly and treated like syntax errors.
 */
export function unresolvedAliases(doc: Document): Alias[] {
  const found: Alias[] = [];
  visit(doc, {
    Alias(_, node) {
      if (node.resolve(doc) === undefined) found.push(node);
    },
  });
  return found;
}
