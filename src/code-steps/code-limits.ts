import { z } from 'zod';

/** Hard limits of one execution of a code step (README "Code steps"). */
export type CodeLimits = {
  /** CPU time the code may take, checked by QuickJS's interrupt handler. @default 1000 ms */
  timeoutMs: number;
  /** Memory its QuickJS runtime may allocate. @default 64 MiB */
  memoryBytes: number;
  /** Stack its QuickJS runtime may use (deep recursion). @default 256 KiB */
  stackBytes: number;
  /** Longest result, in characters of JSON. @default 262144 (256 Ki) */
  outputChars: number;
};

/** Limits when the configuration sets none. */
export const DEFAULT_CODE_LIMITS: Readonly<CodeLimits> = Object.freeze({
  timeoutMs: 1_000,
  memoryBytes: 64 * 1024 * 1024,
  stackBytes: 256 * 1024,
  outputChars: 256 * 1024,
});

/** Most console lines one execution keeps; the rest are counted in a last line. */
export const MAX_LOG_LINES = 100;
/** Most characters of console output one execution keeps (a longer line is cut). */
export const MAX_LOG_CHARS = 16 * 1024;

const MIB = 1024 * 1024;

/** The environment variables of code steps, merged into `src/config.ts`'s schema. */
export const codeStepEnv = {
  TRELLIS_CODE_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).default(DEFAULT_CODE_LIMITS.timeoutMs),
  TRELLIS_CODE_MEMORY_MB: z.coerce.number().int().min(4).max(1024).default(DEFAULT_CODE_LIMITS.memoryBytes / MIB),
  // The wasm build's own stack is 5 MiB: a larger limit would let recursion trap the module.
  TRELLIS_CODE_STACK_KB: z.coerce.number().int().min(32).max(1024).default(DEFAULT_CODE_LIMITS.stackBytes / 1024),
  TRELLIS_CODE_MAX_OUTPUT_CHARS: z.coerce.number().int().min(1024).max(MIB).default(DEFAULT_CODE_LIMITS.outputChars),
};

type CodeStepEnv = z.output<z.ZodObject<typeof codeStepEnv>>;

/** The {@link CodeLimits} the environment sets. */
export function codeLimitsFrom(env: CodeStepEnv): Readonly<CodeLimits> {
  return Object.freeze({
    timeoutMs: env.TRELLIS_CODE_TIMEOUT_MS,
    memoryBytes: env.TRELLIS_CODE_MEMORY_MB * MIB,
    stackBytes: env.TRELLIS_CODE_STACK_KB * 1024,
    outputChars: env.TRELLIS_CODE_MAX_OUTPUT_CHARS,
  });
}
