import path from 'node:path';
import { readDocumentFile } from './document-file';

/** A definition document read from a file, with the name to show for it. */
export type DefinitionFile = { file: string; spec: unknown; name: string };

/**
 * Reads a definition file, JSON or YAML (see {@link readDocumentFile}). `name` is the document's
 * `name` when it has one, else the file's base name, so even a broken document can be talked about.
 * @throws CliError when the file cannot be read or is not valid JSON or YAML
 */
export async function readDefinitionFile(file: string): Promise<DefinitionFile> {
  const spec = await readDocumentFile(file, 'definition file');
  const declared = typeof spec === 'object' && spec !== null ? (spec as { name?: unknown }).name : undefined;
  const name = typeof declared === 'string' && declared !== '' ? declared : path.basename(file);
  return { file, spec, name };
}
