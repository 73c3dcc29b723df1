import { errorFields, logger } from '../observability/logger';
import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';
import type { ExecutionArgs, GraphQLError, GraphQLSchema } from 'graphql';
import type { Context, SubscribePayload } from 'graphql-ws';
import type { Extra } from 'graphql-ws/use/ws';
import type { Kysely } from 'kysely';
import { executedOperationMeasure, heavyFieldCount, type OperationMeasure } from '../../graphql/operation-limits';
import { toSocketError } from '../../graphql/errors';
import type { ApiLimits } from '../config';
import type { Database } from '../db/database';
import { RateLimitedError, TrellisError } from '../errors';
import { KeyLookups } from './api-keys';
import { authenticate, isAuthenticationFailure, type AuthenticationPolicy, type AuthenticationRequest, type Caller } from './authenticate';
import { SOCKET_CLOSE_CODES, SocketRegistry, callerIdentity, type TrackedSocket } from './socket-registry';
import { TokenBuckets } from './token-buckets';

/** Rate-limit tokens an operation takes: 1, and this many more for each heavy field it runs (FIELD_WEIGHTS). */
export const HEAVY_FIELD_TOKENS = 10;

/** What the guard enforces (see {@link ApiLimits}). */
export type GuardLimits = Pick<ApiLimits, 'ratePerSecond' | 'rateBurst' | 'authFailuresPerMinute' | 'subscriptionsPerSocket' | 'socketsPerKey'>;

export type RequestGuardOptions = {
  /** The owner's database: key lookups. */
  db: Kysely<Database>;
  policy: AuthenticationPolicy;
  limits: GuardLimits;
};

/** What the guard keeps in a graphql-ws socket's `extra`: the socket as it admitted it. */
export type GuardExtra = { guarded?: GuardedSocket };

/** graphql-ws's context of a socket, with the guard's record of it. */
export type GuardedSocketContext = Context<Record<string, unknown> | undefined, Extra & Partial<GuardExtra>>;

/** What {@link RequestGuard.socketHooks} needs to run an operation it admitted. */
export type OperationRunner = {
  schema: GraphQLSchema;
  /** Parses and validates (graphql-ws `onSubscribe` without the guard). */
  prepare(ctx: GuardedSocketContext, id: string, payload: SubscribePayload): ExecutionArgs | readonly GraphQLError[];
  /** The context value resolvers get, for this caller on this socket (its connection parameters say more, e.g. `Trellis-Chain`). */
  contextFor(caller: Caller, ctx: GuardedSocketContext): unknown;
};

/**
 * Who may do what, how often, on HTTP and graphql-ws alike:
 * - authentication ({@link authenticate}) on every HTTP request, at each socket's connection and,
 *   looked up again, before every operation on a socket; sockets whose key is revoked are closed
 *   ({@link SocketRegistry});
 * - keyless mode's `Host`/`Origin` check, on the WebSocket upgrade too (refused with 403 before
 *   the protocol starts);
 * - a token bucket per key (keyless: per tenant) that every operation takes from, heavy fields
 *   {@link HEAVY_FIELD_TOKENS} more; and one per client address that failed authentications
 *   take from (once empty, the address is refused until it refills);
 * - caps on sockets per key and on operations in progress per socket.
 * Buckets live in this process: N API processes allow N times the rates.
 */
export class RequestGuard {
  readonly sockets: SocketRegistry;
  private readonly rates: TokenBuckets;
  private readonly failures: TokenBuckets;
  private readonly keys: KeyLookups;

  constructor(private readonly options: RequestGuardOptions) {
    const { limits } = options;
    this.sockets = new SocketRegistry(options.db);
    this.keys = new KeyLookups(options.db);
    this.rates = new TokenBuckets({ ratePerSecond: limits.ratePerSecond, capacity: limits.rateBurst });
    this.failures = new TokenBuckets({ ratePerSecond: limits.authFailuresPerMinute / 60, capacity: limits.authFailuresPerMinute });
  }

  /**
   * Authenticates an HTTP request and takes one token of its caller's rate limit.
   * @throws TrellisError `UNAUTHENTICATED`/`FORBIDDEN` (see {@link authenticate}); RateLimitedError
   */
  async admitHttp(request: FastifyRequest): Promise<Caller> {
    const caller = await this.authenticateHttp(request);
    this.take(caller, 1);
    return caller;
  }

  /**
   * Authenticates an HTTP request (for routes other than `/graphql`, which use {@link admitHttp}),
   * refusing a client address that failed too often.
   * @throws TrellisError `UNAUTHENTICATED`/`FORBIDDEN`; RateLimitedError
   */
  authenticateHttp(request: FastifyRequest): Promise<Caller> {
    const { headers } = request;
    return this.authenticate({ authorization: headers.authorization, remoteAddress: request.socket.remoteAddress, host: headers.host, origin: headers.origin });
  }

  /**
   * Authenticates a request to an operators' route (the codec endpoint): in keyless mode only
   * loopback clients, whatever `TRELLIS_ALLOW_REMOTE` says, and with the `Host` check; the route
   * checks `Origin` itself (the Temporal Web UI calls it from its own origin). Failed attempts
   * count against the client address as on every route.
   * @throws TrellisError `UNAUTHENTICATED`/`FORBIDDEN`; RateLimitedError
   */
  authenticateOperator(request: FastifyRequest): Promise<Caller> {
    const { headers } = request;
    return this.authenticate(
      { authorization: headers.authorization, remoteAddress: request.socket.remoteAddress, host: headers.host },
      { ...this.options.policy, allowRemote: false },
    );
  }

  /**
   * Takes the extra tokens of an operation's heavy fields, once it is parsed and measured.
   * @throws RateLimitedError
   */
  admitMeasured(caller: Caller, measure: OperationMeasure): void {
    const heavy = heavyFieldCount(measure);
    if (heavy > 0) this.take(caller, heavy * HEAVY_FIELD_TOKENS);
  }

  /**
   * `ws`'s `verifyClient`: in keyless mode, refuses an upgrade whose `Host` or `Origin` keyless mode
   * does not serve, with HTTP 403, before the WebSocket protocol starts. With keys, the key comes
   * in the connection's init message ({@link socketHooks}).
   */
  readonly verifyUpgrade = (info: { origin?: string; req: IncomingMessage }, callback: (verified: boolean, code?: number, message?: string) => void): void => {
    // An address past its failed authentications costs no database query.
    const wait = this.failures.check(info.req.socket.remoteAddress ?? 'unknown');
    if (wait > 0) return callback(false, 429, `Too many failed authentications: try again in ${wait} s`);
    this.keys.keysRequired().then(
      (required) => {
        const problem = required ? undefined : this.options.policy.origins.problem({ host: info.req.headers.host, origin: info.origin });
        if (problem) callback(false, 403, problem);
        else callback(true);
      },
      (err: unknown) => {
        logger.error(errorFields(err, true), 'cannot check a WebSocket upgrade');
        callback(false, 503, 'Service Unavailable');
      },
    );
  };

  /**
   * The graphql-ws hooks that authenticate a socket at its connection, which takes a rate-limit
   * token (closing it with 4403 when refused, 4429 past a limit) and, before each operation, cap
   * operations in progress, take a rate-limit token, look the key up again, and run
   * `runner.prepare`.
   */
  socketHooks(runner: OperationRunner) {
    return {
      onConnect: (ctx: GuardedSocketContext) => this.connect(ctx),
      onSubscribe: (ctx: GuardedSocketContext, id: string, payload: SubscribePayload) => this.subscribe(ctx, id, payload, runner),
      onClose: (ctx: GuardedSocketContext) => {
        if (ctx.extra.guarded) this.sockets.remove(ctx.extra.guarded);
      },
    };
  }

  /** Starts watching open sockets (see {@link SocketRegistry.start}). */
  start(): void {
    this.sockets.start();
  }

  stop(): void {
    this.sockets.stop();
  }

  private async connect(ctx: GuardedSocketContext): Promise<boolean> {
    const { request, socket } = ctx.extra;
    const params = ctx.connectionParams ?? {};
    const header = params.Authorization ?? params.authorization;
    let caller: Caller;
    try {
      caller = await this.authenticate({
        authorization: typeof header === 'string' ? header : undefined,
        remoteAddress: request.socket.remoteAddress,
        host: request.headers.host,
        origin: request.headers.origin,
      });
    } catch (err) {
      if (err instanceof RateLimitedError) socket.close(SOCKET_CLOSE_CODES.tooManyRequests, 'Too many failed authentications');
      else if (!isAuthenticationFailure(err)) throw err;
      return false; // closes the socket with 4403 Forbidden
    }
    try {
      this.take(caller, 1);
    } catch {
      socket.close(SOCKET_CLOSE_CODES.tooManyRequests, 'Too many requests for this key');
      return false;
    }
    const { socketsPerKey } = this.options.limits;
    if (this.sockets.count(caller) >= socketsPerKey) {
      socket.close(SOCKET_CLOSE_CODES.tooManyRequests, `Too many sockets for this key: the limit is ${socketsPerKey}`);
      return false;
    }
    const guarded = new GuardedSocket(ctx, caller);
    ctx.extra.guarded = guarded;
    this.sockets.add(guarded);
    return !guarded.closing;
  }

  private async subscribe(ctx: GuardedSocketContext, id: string, payload: SubscribePayload, runner: OperationRunner): Promise<ExecutionArgs | readonly GraphQLError[]> {
    const guarded = ctx.extra.guarded;
    try {
      if (!guarded || guarded.closing) throw new TrellisError('UNAUTHENTICATED', 'this socket is closing: open another one');
      // Counted before anything is awaited: graphql-ws has added this operation already, and the
      // operations that arrive while this one is checked are counted after it.
      const { subscriptionsPerSocket } = this.options.limits;
      const inProgress = Object.keys(ctx.subscriptions).length;
      if (inProgress > subscriptionsPerSocket) {
        throw new RateLimitedError(
          `too many operations in progress on this socket: ${inProgress}, the limit is ${subscriptionsPerSocket} (TRELLIS_MAX_SUBSCRIPTIONS_PER_SOCKET): complete some first`,
          { name: 'subscriptionsPerSocket', max: subscriptionsPerSocket, actual: inProgress },
        );
      }
      this.take(guarded.caller, 1);
      const caller = await this.recheck(guarded);
      const prepared = runner.prepare(ctx, id, payload);
      if (!('document' in prepared)) return prepared;
      const measure = executedOperationMeasure(runner.schema, prepared);
      if (measure) this.admitMeasured(caller, measure);
      return { ...prepared, contextValue: runner.contextFor(caller, ctx) };
    } catch (err) {
      if (err instanceof TrellisError) return [toSocketError(err)];
      throw err;
    }
  }

  /**
   * Looks a socket's key up again (keyless: whether keys are required now); closes the socket
   * (and, for a key, every socket of it) when it is no longer valid.
   * @returns the caller as the key says now
   * @throws TrellisError `UNAUTHENTICATED` once the socket's credentials are no longer valid
   */
  private async recheck(guarded: GuardedSocket): Promise<Caller> {
    const { keyId } = guarded.caller;
    // Closed once the refusal is sent (graphql-ws sends it in the microtasks after onSubscribe returns).
    const closeSoon = (close: () => void) => setImmediate(close);
    if (keyId !== undefined) {
      const key = await this.keys.activeKeyById(keyId);
      if (!key) {
        closeSoon(() => this.sockets.keyRevoked(keyId));
        throw new TrellisError('UNAUTHENTICATED', 'the API key is unknown or has been revoked');
      }
      guarded.caller = { tenantId: key.tenant_id, keyId: key.id, admin: key.admin };
    } else if (await this.keys.keysRequired()) {
      closeSoon(() => guarded.close(SOCKET_CLOSE_CODES.forbidden, 'API keys are now required'));
      throw new TrellisError('UNAUTHENTICATED', 'this API needs an API key: reconnect with "Authorization: Bearer <API key>"');
    }
    return guarded.caller;
  }

  /**
   * {@link authenticate}, refusing an address whose failed-authentication bucket is empty.
   * Only `UNAUTHENTICATED` counts as a failed attempt: a keyless request refused for its `Host`
   * or `Origin` comes from a browser, and counting those would let any web page its visitor opens
   * lock that visitor's address out.
   */
  private async authenticate(request: AuthenticationRequest, policy: AuthenticationPolicy = this.options.policy): Promise<Caller> {
    const address = request.remoteAddress ?? 'unknown';
    const wait = this.failures.check(address);
    const perMinute = this.options.limits.authFailuresPerMinute;
    if (wait > 0) {
      throw new RateLimitedError(
        `too many failed authentications from ${address}: at most ${perMinute} a minute; try again in ${wait} s`,
        { name: 'authFailures', max: perMinute },
        wait,
      );
    }
    try {
      return await authenticate(this.keys, request, policy);
    } catch (err) {
      if (err instanceof TrellisError && err.code === 'UNAUTHENTICATED') this.failures.take(address);
      throw err;
    }
  }

  /** @throws RateLimitedError when the caller's bucket lacks `tokens` */
  private take(caller: Caller, tokens: number): void {
    const wait = this.rates.take(callerIdentity(caller), tokens);
    if (wait === 0) return;
    const { ratePerSecond, rateBurst } = this.options.limits;
    const who = caller.keyId !== undefined ? 'this API key' : `tenant "${caller.tenantId}"`;
    throw new RateLimitedError(
      `too many requests for ${who}: ${ratePerSecond} tokens a second, ${rateBurst} at most at once (an operation takes 1, and ${HEAVY_FIELD_TOKENS} more for each validateDefinition, saveDefinition, startRun, testRun or retryRun); try again in ${wait} s`,
      { name: 'rate', max: ratePerSecond },
      wait,
    );
  }
}

/** How long a closed socket's client has to answer the close before the connection is cut. */
const CLOSE_GRACE_MS = 1_000;

/** A socket the guard admitted: whom it acts for, and how to close it for good. */
export class GuardedSocket implements TrackedSocket {
  closing = false;

  constructor(
    private readonly ctx: GuardedSocketContext,
    public caller: Caller,
  ) {}

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    const { socket } = this.ctx.extra;
    socket.close(code, reason);
    // graphql-ws stops subscriptions once the client answers the close; these stop now.
    for (const subscription of Object.values(this.ctx.subscriptions)) {
      if (subscription && 'return' in subscription && typeof subscription.return === 'function') {
        subscription.return(undefined).catch(() => undefined);
      }
    }
    setTimeout(() => {
      if (socket.readyState !== socket.CLOSED) socket.terminate();
    }, CLOSE_GRACE_MS).unref();
  }
}
