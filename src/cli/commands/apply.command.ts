import { CliError, EXIT_CODES } from '../cli-error';
import { printJson, type CliCommand } from '../command';
import { readDefinitionFile } from '../definition-file';

const SAVE = `mutation Save($spec: JSON!) { saveDefinition(spec: $spec) { name version contentHash } }`;

/** `trellis apply <file>`: saves a definition as a new version (or returns the identical latest one). */
export const applyCommand: CliCommand = {
  name: 'apply',
  args: ['<file>'],
  summary: 'save a definition file as a new version (an unchanged file keeps its version)',
  options: {},
  optionHelp: [],
  async run({ api, io, args, json }) {
    const { file, spec, name } = await readDefinitionFile(args[0]!);
    let saved: { name: string; version: number; contentHash: string };
    try {
      saved = (await api.request<{ saveDefinition: typeof saved }>(SAVE, { spec })).saveDefinition;
    } catch (err) {
      if (err instanceof CliError && err.code === 'BAD_USER_INPUT') throw new CliError(`${name} (${file}): ${err.message}`, err.options);
      throw err;
    }
    if (json) printJson(io, saved);
    else io.out(`${saved.name} v${saved.version} (${saved.contentHash.slice(0, 12)})`);
    return EXIT_CODES.ok;
  },
};
