/** The API the CLI talks to when neither `--url` nor `TRELLIS_URL` says otherwise. */
export const DEFAULT_API_URL = 'http://127.0.0.1:4000/graphql';

/**
 * The GraphQL URL of the Trellis API: `--url`, else the `TRELLIS_URL` environment variable, else
 * {@link DEFAULT_API_URL}. The only place the CLI reads the environment (it is a client, not a
 * service, so it has no `src/config.ts`-style validated config).
 * @default DEFAULT_API_URL
 */
export function resolveApiUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? (env.TRELLIS_URL || DEFAULT_API_URL);
}

/**
 * The API key the CLI sends (`Authorization: Bearer <key>`): the `TRELLIS_API_KEY` environment
 * variable. Never a flag, so keys stay out of shell history and process lists.
 */
export function resolveApiKey(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.TRELLIS_API_KEY || undefined;
}
