import type { FieldError } from '../errors';

/** Exit codes of the `trellis` CLI. */
export const EXIT_CODES = {
  /** The command did what was asked (for `run --follow`: the run COMPLETED). */
  ok: 0,
  /** A usage error, an invalid file or input, an error the API answered, or a run that did not complete. */
  failed: 1,
  /** The API could not be reached or did not answer GraphQL: retrying later may help. */
  unreachable: 2,
} as const;
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/**
 * An error the CLI reports as one message (plus the located problems, if any) and an exit code,
 * without a stack trace: usage errors, unreadable files, API errors, an unreachable API.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly options: {
      /** @default EXIT_CODES.failed */
      exitCode?: ExitCode;
      /** The API's `extensions.code`, when the error came from the API. */
      code?: string;
      /** Problems located by JSON pointer (`extensions.errors`). */
      fieldErrors?: FieldError[];
    } = {},
  ) {
    super(message);
    this.name = 'CliError';
  }

  get exitCode(): ExitCode {
    return this.options.exitCode ?? EXIT_CODES.failed;
  }

  get code(): string | undefined {
    return this.options.code;
  }

  get fieldErrors(): FieldError[] {
    return this.options.fieldErrors ?? [];
  }
}
