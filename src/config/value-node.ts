import type { Scalar, YAMLMap, YAMLSeq } from 'yaml';

/**
 * What a value slot in the YAML tree holds once aliases are followed (see
 * `Ctx.resolve`); null for a key with no value at all (`? key`). A leaf
 * module: the value checks, the section reader and the context all speak of
 * it, and none of them should have to import another to do so.
 */
export type ValueNode = Scalar | YAMLMap | YAMLSeq | null;
