import fs from 'node:fs/promises';
import { isDocumentSyntaxError, type DocumentFormat } from '../support/document-syntax-error';
import { documentFormatOfFile, parseDocumentText } from '../support/document-text';
import { CliError } from './cli-error';

/**
 * Reads and parses a JSON or YAML file: `.json` as JSON, `.yaml`/`.yml` as YAML, any other name
 * as either. `what` names it in errors ("definition file", "--input-file").
 * @throws CliError when the file cannot be read, or naming the file, line and column of a syntax error
 */
export async function readDocumentFile(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new CliError(`${what} ${file}: ${reason}`);
  }
  return parseDocument(text, `${what} ${file}`, documentFormatOfFile(file));
}

/**
 * Parses `text` given on the command line as JSON or YAML; `what` names its source in the error ("--input").
 * @throws CliError naming `what`, the line and column, and the parser's complaint
 */
export function parseDocumentArgument(text: string, what: string): unknown {
  return parseDocument(text, what, undefined);
}

function parseDocument(text: string, what: string, format: DocumentFormat | undefined): unknown {
  try {
    return parseDocumentText(text, format);
  } catch (err) {
    if (!isDocumentSyntaxError(err)) throw err;
    const excerpt = err.excerpt ? `\n${indent(err.excerpt)}` : '';
    throw new CliError(`${what} is not valid ${err.format}: ${err.message}${excerpt}`);
  }
}

function indent(block: string): string {
  return block.split('\n').map((line) => `    ${line}`).join('\n');
}
