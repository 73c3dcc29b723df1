import type { Payload, PayloadCodec } from '@temporalio/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RateLimitedError, TrellisError } from '../errors';
import { PayloadDecryptionError } from '../temporal/payload-codec';
import type { Caller } from './authenticate';

/** Where the codec endpoint is served; the Temporal Web UI and CLI append `/encode` and `/decode`. */
export const CODEC_PATH = '/codec';

/** The largest codec request: Temporal payloads reach 2 MB, and base64 adds a third. */
export const MAX_CODEC_REQUEST_BYTES = 8 * 1024 * 1024;

/** Most payloads in one request. */
export const MAX_CODEC_PAYLOADS = 1000;

/** Options of {@link registerCodecRoutes}. */
export type CodecRoutesOptions = {
  codec: PayloadCodec;
  /**
   * Authenticates a caller (the API's request guard: keyless only for loopback clients with an
   * allowed `Host`, failed attempts limited per address); `Origin` is checked here.
   */
  authenticate: (request: FastifyRequest) => Promise<Caller>;
  /** The Temporal namespace Trellis uses: requests naming another (`X-Namespace`) are refused. */
  namespace: string;
  /** Base URL of the Temporal Web UI, whose origin (in its loopback spellings) browsers may call from. */
  uiUrl: string | undefined;
  /** Tenant whose admin keys may call the endpoint once API keys exist; `undefined`: nobody may then. */
  operatorTenant: string | undefined;
};

type WirePayload = { metadata?: Record<string, string>; data?: string };

/**
 * The Temporal codec-server protocol on the API port, so operators can read encrypted payloads in
 * the Temporal Web UI (`--ui-codec-endpoint <API>/codec`, `TEMPORAL_CODEC_ENDPOINT`) and the CLI
 * (`temporal … --codec-endpoint <API>/codec --codec-auth "Bearer <key>"`): `POST /codec/decode` and
 * `POST /codec/encode` take and return `{"payloads": [{"metadata": {"k": "<base64>"}, "data": "<base64>"}]}`.
 *
 * Decoding shows any tenant's data, so callers are operators only:
 * - while no API key exists (one local user), loopback clients, from no browser origin (the CLI,
 *   curl) or from the Temporal Web UI's origin: a page on another site, or one that rebinds DNS
 *   to this address, is refused;
 * - once keys exist, an admin key of the operator tenant (`TRELLIS_OPERATOR_TENANT`); tenants' own
 *   keys, admin or not, are refused (403), whatever their origin.
 * Answers 401 without valid credentials, 403 for callers who may not decode, 400 for a malformed
 * body, a namespace other than Trellis's, or a payload that does not decrypt. Credentials are
 * checked before the body is read. Browsers get CORS headers for the Web UI's origin only.
 */
export function registerCodecRoutes(app: FastifyInstance, options: CodecRoutesOptions): void {
  const origins = uiOrigins(options.uiUrl);
  const corsFor = (request: FastifyRequest, reply: FastifyReply): boolean => {
    const origin = request.headers.origin;
    if (origin === undefined || !origins.has(origin)) return false;
    reply.header('access-control-allow-origin', origin).header('access-control-allow-credentials', 'true').header('vary', 'Origin');
    return true;
  };
  const refuse = (reply: FastifyReply, status: 400 | 401 | 403, message: string) => reply.code(status).send({ message });

  for (const operation of ['encode', 'decode'] as const) {
    const url = `${CODEC_PATH}/${operation}`;
    app.options(url, async (request, reply) => {
      if (!corsFor(request, reply)) return refuse(reply, 403, `origin ${JSON.stringify(request.headers.origin ?? null)} may not call the codec endpoint`);
      return reply
        .code(204)
        .header('access-control-allow-methods', 'POST')
        .header('access-control-allow-headers', 'authorization, content-type, x-namespace')
        .header('access-control-max-age', '600')
        .send();
    });
    app.post(url, {
      bodyLimit: MAX_CODEC_REQUEST_BYTES,
      // Before the body is read: an unauthenticated caller cannot make the server buffer 8 MiB.
      onRequest: async (request, reply) => {
        corsFor(request, reply);
        let caller: Caller;
        try {
          caller = await options.authenticate(request);
        } catch (err) {
          if (err instanceof RateLimitedError) return reply.code(429).header('retry-after', String(err.retryAfterSeconds ?? 60)).send({ message: err.message });
          if (err instanceof TrellisError && err.code === 'FORBIDDEN') return refuse(reply, 403, err.message);
          return refuse(reply, 401, err instanceof TrellisError ? err.message : 'not authenticated');
        }
        const denied = deniedBecause(caller, request.headers.origin, origins, options.operatorTenant);
        if (denied) return refuse(reply, 403, denied);
        const namespace = request.headers['x-namespace'];
        if (namespace !== undefined && namespace !== options.namespace) {
          return refuse(reply, 400, `this codec serves Temporal namespace ${JSON.stringify(options.namespace)}, not ${JSON.stringify(namespace)}`);
        }
      },
      handler: async (request, reply) => {
        const payloads = parsePayloads(request.body);
        if (typeof payloads === 'string') return refuse(reply, 400, payloads);
        try {
          const result = operation === 'encode' ? await options.codec.encode(payloads) : await options.codec.decode(payloads);
          return reply.send({ payloads: result.map(toWire) });
        } catch (err) {
          if (err instanceof PayloadDecryptionError) return refuse(reply, 400, err.message);
          throw err;
        }
      },
    });
  }
}

/** Why `caller` may not use the codec, or `undefined` when it may. */
function deniedBecause(caller: Caller, origin: string | undefined, origins: ReadonlySet<string>, operatorTenant: string | undefined): string | undefined {
  if (caller.keyId === undefined) {
    // Keyless: authenticate() let a loopback client through; a browser must be on the Web UI.
    if (origin !== undefined && !origins.has(origin)) return `origin ${JSON.stringify(origin)} is not the Temporal Web UI's: it may not call the codec endpoint`;
    return undefined;
  }
  if (operatorTenant === undefined) {
    return 'the codec endpoint decodes every tenant\'s payloads: set TRELLIS_OPERATOR_TENANT and use an admin key of that tenant';
  }
  if (caller.tenantId !== operatorTenant || !caller.admin) {
    return `the codec endpoint decodes every tenant's payloads: only admin keys of the operator tenant (${operatorTenant}) may call it`;
  }
  return undefined;
}

/** The Web UI's origin; a loopback UI in each of its usual spellings (localhost, 127.0.0.1, [::1]). */
function uiOrigins(uiUrl: string | undefined): ReadonlySet<string> {
  if (uiUrl === undefined) return new Set();
  const url = new URL(uiUrl);
  const loopback = ['localhost', '127.0.0.1', '[::1]'];
  if (!loopback.includes(url.hostname)) return new Set([url.origin]);
  return new Set(loopback.map((host) => `${url.protocol}//${host}${url.port ? `:${url.port}` : ''}`));
}

function parsePayloads(body: unknown): Payload[] | string {
  const list = (body as { payloads?: unknown } | null)?.payloads;
  if (!Array.isArray(list)) return 'the body must be JSON {"payloads": [...]}';
  if (list.length > MAX_CODEC_PAYLOADS) return `at most ${MAX_CODEC_PAYLOADS} payloads per request, got ${list.length}`;
  const payloads: Payload[] = [];
  for (const [index, item] of list.entries()) {
    const wire = item as WirePayload | null;
    const metadata = wire?.metadata ?? {};
    if (typeof wire !== 'object' || wire === null || typeof metadata !== 'object' || (wire.data !== undefined && typeof wire.data !== 'string')) {
      return `/payloads/${index} must be {"metadata": {…}, "data": "<base64>"}`;
    }
    const decoded: Record<string, Uint8Array> = {};
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') return `/payloads/${index}/metadata/${key} must be a base64 string`;
      decoded[key] = Buffer.from(value, 'base64');
    }
    payloads.push({ metadata: decoded, data: Buffer.from(wire.data ?? '', 'base64') });
  }
  return payloads;
}

function toWire(payload: Payload): WirePayload {
  const metadata = Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value).toString('base64')]));
  return { metadata, data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64') };
}
