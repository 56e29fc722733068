import type { IncomingMessage, Server } from 'node:http';
import { GraphQLError, getOperationAST } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type WebSocket } from 'ws';
import { authenticate } from '../../auth/authenticate.js';
import type { RevocationMonitor } from '../../auth/revocation-monitor.js';
import { ErrorCode } from '../../errors.js';
import type { Principal, Store } from '../../store/store.js';

/** RFC 6455 close code 1012 "Service Restart": clients should reconnect later. */
const WS_CLOSE_SERVICE_RESTART = 1012;

/** Options of {@link serveGraphQLOverWebSocket}. */
export interface GraphQLWsOptions {
  /** The WebSocket path (the GraphQL endpoint's). */
  path: string;
  /** Largest message (SIEMGATE_MAX_BODY_BYTES); a larger one closes the socket (1009). */
  maxPayload: number;
  store: Store;
  revocations: RevocationMonitor;
  /** Active subscriptions one connection may hold (SIEMGATE_MAX_SUBSCRIPTIONS_PER_CONNECTION). */
  maxSubscriptions: number;
}

/** graphql-ws served on an HTTP server. */
export interface GraphQLWsServer {
  /** Ends every operation and closes every connection with 1012 (Service Restart). */
  stop(): Promise<void>;
  /** Closes the WebSocket server (after {@link stop}). */
  close(): Promise<void>;
}

/**
 * graphql-ws on the HTTP server's `path`, authenticated per connection by
 * `connectionParams.authorization` (`Bearer <token>`), executed through Yoga's envelop so the same
 * plugins, limits and error masking apply as over HTTP. Every operation re-checks the key's state; a
 * revoked key's connections are closed with 4403 (within the revocation monitor's bound when another
 * process revoked it). At most `maxSubscriptions` subscriptions are active per connection.
 *
 * @example
 * ```ts
 * const ws = serveGraphQLOverWebSocket(http.server, core.yoga, { path: '/graphql', maxPayload, store, revocations, maxSubscriptions: 100 });
 * ```
 */
export function serveGraphQLOverWebSocket<TServerContext extends object, TUserContext extends object>(
  server: Server,
  yoga: YogaServerInstance<TServerContext, TUserContext>,
  { path, maxPayload, store, revocations, maxSubscriptions }: GraphQLWsOptions,
): GraphQLWsServer {
  const wsServer = new WebSocketServer({ server, path, maxPayload });
  type Extra = { principal?: Principal; socket: WebSocket; request: IncomingMessage; subscriptionIds?: Set<string> };
  const closeRevoked = (socket: WebSocket) => socket.close(CloseCode.Forbidden, 'Forbidden: the API key was revoked');
  const cleanup = useServer<Record<string, unknown> | undefined, Extra>(
    {
      execute: (args: any) => args.rootValue.execute(args),
      subscribe: (args: any) => args.rootValue.subscribe(args),
      onConnect: async (ctx) => {
        const authorization = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        try {
          const principal = await authenticate(store, typeof authorization === 'string' ? authorization : undefined);
          ctx.extra.principal = principal;
          ctx.extra.subscriptionIds = new Set();
          const socket = ctx.extra.socket;
          const unwatch = revocations.watch(principal.keyId, () => closeRevoked(socket));
          socket.once('close', unwatch);
          return true;
        } catch {
          ctx.extra.socket.close(CloseCode.Forbidden, 'Forbidden: connectionParams.authorization must be "Bearer <valid API token>"');
          return false;
        }
      },
      onSubscribe: async (ctx, id, params) => {
        const principal = ctx.extra.principal!;
        // The key's current state, for every operation: a key revoked since the connection opened runs nothing.
        if (!(await store.isApiKeyActive(principal.keyId))) {
          closeRevoked(ctx.extra.socket);
          return [new GraphQLError('The API key is invalid or revoked', { extensions: { code: ErrorCode.UNAUTHENTICATED } })];
        }
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          req: ctx.extra.request,
          principal,
          params,
        } as never);
        const document = parse(params.query);
        const errors = validate(schema, document);
        if (errors.length) return errors;
        if (getOperationAST(document, params.operationName)?.operation === 'subscription') {
          // Subscriptions that ended (completed, errored, or completed by the client) leave ctx.subscriptions at once.
          const active = ctx.extra.subscriptionIds!;
          for (const other of active) if (!(other in ctx.subscriptions)) active.delete(other);
          if (active.size >= maxSubscriptions) {
            return [
              new GraphQLError(`At most ${maxSubscriptions} subscriptions may be active on one connection; complete one first (SIEMGATE_MAX_SUBSCRIPTIONS_PER_CONNECTION)`, {
                extensions: { code: ErrorCode.QUERY_LIMIT_EXCEEDED, limit: maxSubscriptions },
              }),
            ];
          }
          active.add(id);
        }
        return {
          schema,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
      },
      onComplete: (ctx, id) => {
        ctx.extra.subscriptionIds?.delete(id);
      },
    },
    wsServer,
  );
  return {
    async stop() {
      await cleanup.dispose();
      for (const client of wsServer.clients) client.close(WS_CLOSE_SERVICE_RESTART, 'Server shutting down');
    },
    close: () => new Promise<void>((resolve) => wsServer.close(() => resolve())),
  };
}
