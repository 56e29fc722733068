import { CloseCode, createClient } from 'graphql-ws';
import WebSocket from 'ws'; // Node; in a browser, leave webSocketImpl out

export interface IntegrationStatus {
  id: string;
  name: string;
  health: 'UNKNOWN' | 'HEALTHY' | 'DEGRADED' | 'FAILING' | 'DISABLED';
  errorCount: number;
  lastError: string | null;
  stats: { queued: number; delivered: number };
}

/**
 * Keeps `integrations` (id → latest status) current through disconnects and gateway restarts. Every
 * (re)connection starts with the current state of every integration, so there is nothing to query and
 * reconcile: each message simply replaces what the dashboard shows for that integration.
 */
export function watchIntegrations(url: string, token: string, onStatus: (status: IntegrationStatus) => void) {
  const integrations = new Map<string, IntegrationStatus>();
  const client = createClient({
    url, // e.g. ws://localhost:4000/graphql
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: Infinity, // reconnect through restarts (close 1012) and outages
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** retries, 15_000))),
    shouldRetry: (reason) => (reason as { code?: number })?.code !== CloseCode.Forbidden, // a revoked key stays refused
    on: { connected: () => integrations.clear() }, // the snapshot that follows refills it (deleted ones stay gone)
  });
  const unsubscribe = client.subscribe<{ siemIntegrationStatus: IntegrationStatus }>(
    { query: 'subscription { siemIntegrationStatus { id name health errorCount lastError stats { queued delivered } } }' },
    {
      next: ({ data }) => {
        if (!data) return;
        integrations.set(data.siemIntegrationStatus.id, data.siemIntegrationStatus);
        onStatus(data.siemIntegrationStatus);
      },
      error: (error) => console.error('siemIntegrationStatus ended', error),
      complete: () => undefined,
    },
  );
  return {
    integrations,
    async close() {
      unsubscribe();
      await client.dispose();
    },
  };
}
