/** The `Host` and `Origin` headers of a request (or WebSocket upgrade), as received. */
export type RequestOrigin = { host?: string; origin?: string };

export type OriginPolicyOptions = {
  /**
   * `host[:port]` values allowed in `Host`; an entry without a port allows any port. `'*'` allows
   * any host. @default `localhost`, `127.0.0.1` and `[::1]`, each at the API's own port
   */
  allowedHosts?: readonly string[] | '*';
  /** Origins allowed besides the request's own (`scheme://host[:port]`); `'*'` allows any. @default none */
  allowedOrigins?: readonly string[] | '*';
};

/**
 * What keyless mode serves: requests whose `Host` names this API (so a page whose DNS name was
 * rebound to 127.0.0.1 is refused) and whose `Origin`, when a browser sends one, is the API's own
 * or an allowed one (so a page of another site cannot drive the API through its visitor's browser).
 * Requests without `Origin` (curl, the CLI, servers) pass the `Origin` check: no browser sent them.
 */
export class OriginPolicy {
  /**
   * @param port the port the API listens on, asked at each check (it is known only once the
   *   server listens, which may be on a port the system picked)
   */
  constructor(
    private readonly options: OriginPolicyOptions,
    private readonly port: () => number,
  ) {}

  /** Why `request` is refused, or `undefined` when it may be served. */
  problem(request: RequestOrigin): string | undefined {
    const host = request.host?.trim().toLowerCase();
    const hint = 'use an API key, or allow it with';
    if (!host) return `keyless mode needs a Host header naming this API (${hint} TRELLIS_ALLOWED_HOSTS)`;
    if (!this.hostAllowed(host)) {
      return `keyless mode serves only its own host names: Host "${host}" is not one of ${this.allowedHostList()} (${hint} TRELLIS_ALLOWED_HOSTS)`;
    }
    const origin = request.origin?.trim().toLowerCase();
    if (origin === undefined || origin === '') return undefined;
    const allowed = this.options.allowedOrigins ?? [];
    if (origin === `http://${host}` || origin === `https://${host}` || allowed === '*' || allowed.includes(origin)) return undefined;
    return `keyless mode serves only pages of its own origin: Origin "${origin}" is not allowed (${hint} TRELLIS_ALLOWED_ORIGINS)`;
  }

  private hostAllowed(host: string): boolean {
    const allowed = this.options.allowedHosts;
    if (allowed === '*') return true;
    const [name] = splitHost(host);
    return (allowed ?? this.defaultHosts()).some((entry) => entry === host || (splitHost(entry)[1] === undefined && entry === name));
  }

  private defaultHosts(): string[] {
    const port = this.port();
    // A browser leaves out the scheme's default port.
    const suffix = port === 80 ? ['', ':80'] : [`:${port}`];
    return ['localhost', '127.0.0.1', '[::1]'].flatMap((name) => suffix.map((end) => `${name}${end}`));
  }

  private allowedHostList(): string {
    const allowed = this.options.allowedHosts;
    return (allowed === '*' || allowed === undefined ? this.defaultHosts() : allowed).join(', ');
  }
}

/** `example.com:4000` → [`example.com`, `4000`]; `[::1]:4000` → [`[::1]`, `4000`]; no port → [host, undefined]. */
function splitHost(host: string): [string, string | undefined] {
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(host);
  return match ? [match[1]!, match[2]] : [host, undefined];
}
