import type { FieldError } from '../../errors';
import { EXIT_CODES } from '../cli-error';
import { printJson, type CliCommand } from '../command';
import { readDefinitionFile } from '../definition-file';
import { formatFieldErrors } from '../format';

const VALIDATE = `query Validate($spec: JSON!) { validateDefinition(spec: $spec) { valid errors { path message } } }`;

/** `trellis validate <file>`: checks a definition without saving it; exit 1 when it is invalid. */
export const validateCommand: CliCommand = {
  name: 'validate',
  args: ['<file>'],
  summary: 'check a definition file without saving it (exit 1 when invalid)',
  options: {},
  optionHelp: [],
  async run({ api, io, args, json }) {
    const { spec, name } = await readDefinitionFile(args[0]!);
    const { validateDefinition: result } = await api.request<{ validateDefinition: { valid: boolean; errors: FieldError[] } }>(VALIDATE, { spec });
    if (json) {
      printJson(io, result);
      return result.valid ? EXIT_CODES.ok : EXIT_CODES.failed;
    }
    if (result.valid) {
      io.out(`✓ ${name} is valid`);
      return EXIT_CODES.ok;
    }
    const count = result.errors.length;
    io.out(`✗ ${name} is not valid (${count} ${count === 1 ? 'error' : 'errors'}):`);
    formatFieldErrors(result.errors).forEach((line) => io.out(line));
    return EXIT_CODES.failed;
  },
};
