import net, { type LookupFunction } from 'node:net';
import { Agent, buildConnector, fetch, Headers, type RequestInit, type Response } from 'undici';
import type { RedirectMode } from '../../definition/definition-schema';
import { withOutboundSpan } from '../observability/outbound-span';
import { canonicalAddress } from './classify-address';
import { EgressDeniedError } from './egress-denied-error';
import type { EgressPolicy } from './egress-policy';
import { RedirectRefusedError } from './redirect-refused-error';

/** Most redirects followed in a row. */
export const MAX_REDIRECTS = 5;

/** Statuses whose `Location` is followed (300 and 304 are not redirects to follow). */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Headers that carry credentials whatever their value: never sent to another origin. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'] as const;

/** Headers that describe a body, dropped with it when a redirect turns the request into a GET. */
const BODY_HEADERS = ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location'] as const;

/** How long a connection may take to open. @default 10 s */
const CONNECT_TIMEOUT_MS = 10_000;

/** A request to {@link GuardedFetch}: `fetch`'s options, less those the guard owns, plus its own. */
export type GuardedRequestInit = Omit<RequestInit, 'dispatcher' | 'redirect'> & {
  /** Which redirects to follow, at most {@link MAX_REDIRECTS} in a row. @default 'same-origin' */
  followRedirects?: RedirectMode;
  /** Names of headers (any case) whose values carry a secret: never sent to another origin. */
  secretHeaders?: Iterable<string>;
  /** The body carries a secret: never sent to another origin. @default false */
  secretBody?: boolean;
  /** Also treats a header or a text body as secret-bearing when this says its text carries a secret. */
  carriesSecret?: (text: string) => boolean;
};

/**
 * `fetch` for everything a step sends out: every connection goes only to addresses the
 * {@link EgressPolicy} allows, checked on the address actually connected to, and redirects are
 * followed here, hop by hop, under the same policy (SPEC §7b).
 */
export type GuardedFetch = ((input: string | URL, init?: GuardedRequestInit) => Promise<Response>) & {
  /** Closes the pooled connections. */
  close(): Promise<void>;
};

/**
 * Creates the guarded client. It is undici's own `fetch` with an undici `Agent` of the same
 * package, rather than Node's global `fetch` (an undici of whatever version Node bundles) with a
 * dispatcher from another copy, which the two versions do not promise to accept.
 *
 * Each connection resolves its host once, checks every address with `policy`, and hands exactly
 * those addresses to the socket (TLS still verifies the certificate and sends SNI for the host
 * name); the socket's remote address is checked again once connected. Refusals reject with
 * {@link EgressDeniedError}; redirects that may not be followed resolve with the redirect
 * itself, or reject with {@link RedirectRefusedError} when following would leak a secret-bearing
 * body or the chain is too long.
 */
export function createGuardedFetch(policy: EgressPolicy, options: { connectTimeoutMs?: number } = {}): GuardedFetch {
  const connect = guardedConnector(policy, options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS);
  let pool: { agent: Agent; generation: string } | undefined;
  // Connections are checked when they open and then kept alive for reuse: once the policy's
  // rules change (the first API key closes loopback), later requests get a fresh pool, and the
  // old one closes once its requests are done.
  const agentFor = async (): Promise<Agent> => {
    const generation = await policy.generation();
    if (pool?.generation !== generation) {
      const previous = pool?.agent;
      pool = { agent: new Agent({ connect }), generation };
      void previous?.close().catch(() => undefined);
    }
    return pool.agent;
  };
  const guarded = (input: string | URL, init: GuardedRequestInit = {}) => {
    const url = new URL(input);
    return withOutboundSpan((init.method ?? 'GET').toUpperCase(), url, () => fetchFollowing(agentFor, url, init));
  };
  return Object.assign(guarded, { close: async () => pool?.agent.close() });
}

function guardedConnector(policy: EgressPolicy, timeout: number): buildConnector.connector {
  return (options, callback) => {
    const port = Number(options.port) || (options.protocol === 'https:' ? 443 : 80);
    policy.addressesFor(options.hostname, port).then(
      (addresses) => {
        const allowed = new Set(addresses.map((address) => canonicalAddress(address)));
        // The addresses just checked, and only those: net.connect asks this instead of DNS.
        const lookup: LookupFunction = (_hostname, lookupOptions, done) => {
          const family = typeof lookupOptions.family === 'number' ? lookupOptions.family : 0;
          const entries = addresses.map((address) => ({ address, family: net.isIP(address) })).filter((entry) => family === 0 || entry.family === family);
          if (entries.length === 0) {
            done(Object.assign(new Error(`no IPv${family} address for ${options.hostname}`), { code: 'ENOTFOUND' }), '', 0);
          } else if (lookupOptions.all) {
            (done as unknown as (err: null, entries: Array<{ address: string; family: number }>) => void)(null, entries);
          } else {
            done(null, entries[0]!.address, entries[0]!.family);
          }
        };
        buildConnector({ timeout, lookup })(options, (err, socket) => {
          if (err || !socket) {
            callback(err ?? new Error('connection failed'), null);
            return;
          }
          const remote = socket.remoteAddress;
          if (remote === undefined || !allowed.has(canonicalAddress(remote))) {
            socket.destroy();
            callback(new Error(`connected to ${remote ?? 'an unknown address'}, which was not the address checked`), null);
            return;
          }
          callback(null, socket);
        });
      },
      (err: Error) => callback(err, null),
    );
  };
}

async function fetchFollowing(agentFor: () => Promise<Agent>, url: URL, init: GuardedRequestInit): Promise<Response> {
  const { followRedirects = 'same-origin', secretHeaders = [], secretBody = false, carriesSecret = () => false, ...request } = init;
  let method = (request.method ?? 'GET').toUpperCase();
  const headers = new Headers(request.headers);
  let body = request.body;
  const secretNames = new Set([...secretHeaders].map((name) => name.toLowerCase()));
  let bodyIsSecret = secretBody || (typeof body === 'string' && carriesSecret(body));
  let current = url;
  for (let hop = 0; ; hop++) {
    let response: Response;
    try {
      response = await fetch(current, { ...request, method, headers, body, redirect: 'manual', dispatcher: await agentFor() });
    } catch (err) {
      const cause = err instanceof Error ? err.cause : undefined;
      if (cause instanceof EgressDeniedError) throw cause.forRequest(describe(method, current, hop > 0 ? url : undefined));
      throw err;
    }
    const location = response.headers.get('location');
    if (!REDIRECT_STATUSES.has(response.status) || location === null || followRedirects === 'none') return response;
    let next: URL;
    try {
      next = new URL(location, current);
    } catch {
      return response;
    }
    const crossOrigin = next.origin !== current.origin;
    if (crossOrigin && followRedirects === 'same-origin') return response;
    const redirected = `${describe(method, current)} redirected (${response.status})`;
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      await discard(response);
      throw new RedirectRefusedError(`${redirected} to a ${next.protocol} URL: only http and https are followed`);
    }
    const hopDescription = `${redirected} to ${next.origin}${next.pathname}`;
    if (hop + 1 > MAX_REDIRECTS) {
      await discard(response);
      throw new RedirectRefusedError(`${describe(method, url)} was redirected more than ${MAX_REDIRECTS} times`);
    }
    await discard(response);

    // As fetch does: 303 turns anything but HEAD into a GET, and 301/302 turn a POST into one.
    if ((response.status === 303 && method !== 'HEAD' && method !== 'GET') || ((response.status === 301 || response.status === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
      bodyIsSecret = false;
      for (const name of BODY_HEADERS) headers.delete(name);
    }
    if (crossOrigin) {
      for (const name of CREDENTIAL_HEADERS) headers.delete(name);
      for (const [name, value] of [...headers]) {
        if (secretNames.has(name) || carriesSecret(value)) headers.delete(name);
      }
      if (body !== undefined && body !== null && bodyIsSecret) {
        throw new RedirectRefusedError(`${hopDescription}, another origin: following would send it the request's body, which carries a secret`);
      }
    }
    if (body !== undefined && body !== null && !isReplayable(body)) {
      throw new RedirectRefusedError(`${hopDescription}: the request's body is a stream and cannot be sent again`);
    }
    current = next;
  }
}

/** `POST http://host:port/path` (no query: it may hold credentials), with where a redirect chain began. */
function describe(method: string, url: URL, redirectedFrom?: URL): string {
  const text = `${method} ${url.origin}${url.pathname}`;
  return redirectedFrom ? `${text} (redirected from ${redirectedFrom.origin}${redirectedFrom.pathname})` : text;
}

function isReplayable(body: NonNullable<RequestInit['body']>): boolean {
  return typeof body === 'string' || body instanceof Uint8Array || body instanceof ArrayBuffer || body instanceof URLSearchParams;
}

async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}
