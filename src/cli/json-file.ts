import fs from 'node:fs/promises';
import { CliError } from './cli-error';

/**
 * Reads and parses a JSON file. `what` names it in errors ("definition file", "--input-file").
 * @throws CliError when the file is YAML (not supported yet), cannot be read, or is not JSON.
 */
export async function readJsonFile(file: string, what: string): Promise<unknown> {
  if (/\.ya?ml$/i.test(file)) throw new CliError(`${what} ${file}: YAML is not supported yet; write the document as JSON`);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new CliError(`${what} ${file}: ${reason}`);
  }
  return parseJson(text, `${what} ${file}`);
}

/**
 * Parses `text` as JSON; `what` names its source in the error ("--input").
 * @throws CliError naming `what` and the parser's complaint.
 */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CliError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}
