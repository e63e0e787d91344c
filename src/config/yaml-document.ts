/**
 * YAML text to one Document, as yaml's `parseDocument` does (parser → composer), with a stop in
 * between: the nesting depth is checked on the parser's tokens before the composer, which
 * recurses, builds the tree (nesting.ts).
 */
import { Composer, Parser, YAMLParseError, type Document, type DocumentOptions, type LineCounter, type ParseOptions, type SchemaOptions } from 'yaml';
import { firstTooDeep } from './nesting.js';

export type YamlOptions = ParseOptions & DocumentOptions & SchemaOptions;

/** The document, or the offset of the first collection nested too deep. */
export type Parsed = { readonly doc: Document.Parsed } | { readonly tooDeepAt: number };

export function parseYamlDocument(text: string, lines: LineCounter, options: YamlOptions): Parsed {
  const tokens = [...new Parser(lines.addNewLine).parse(text)];
  const tooDeepAt = firstTooDeep(tokens);
  if (tooDeepAt !== undefined) return { tooDeepAt };
  const docs = new Composer(options).compose(tokens, true, text.length);
  // The composer always ends with a document (an empty one for empty text).
  const doc = docs.next().value as Document.Parsed;
  const second = docs.next();
  if (second.done !== true) {
    // As parseDocument reports it: one config per file.
    doc.errors.push(
      new YAMLParseError(
        second.value.range.slice(0, 2) as [number, number],
        'MULTIPLE_DOCS',
        'Source contains multiple documents; please use YAML.parseAllDocuments()',
      ),
    );
  }
  return { doc };
}
