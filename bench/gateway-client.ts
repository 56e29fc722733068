import { Pool } from 'undici';
import { ADMIN_TOKEN, BATCH_SIZE, FLUSH_INTERVAL_SECONDS } from './config.js';

/** Pooled keep-alive connections from the bench to the gateway. */
const CONNECTIONS = 8;
const HTTP_ACCEPTED = 202;

/** A GraphQL answer carried errors (or the HTTP status was not 200). */
export class GraphQLRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GraphQLRequestError';
  }
}

/** Batching input of the bench's integrations. */
export interface BenchBatching {
  batchSize?: number;
  flushIntervalSeconds?: number;
}

/** The fields of an integration the bench reads back. */
export interface IntegrationSummary {
  id: string;
  enabled: boolean;
}

const INTEGRATION_SUMMARY = 'id enabled';

/**
 * The bench's client of one gateway: GraphQL over HTTP and `POST /v1/events`, on pooled keep-alive
 * connections (undici), authenticated as the bootstrap admin.
 *
 * @example
 * ```ts
 * const client = new GatewayClient(gateway.url);
 * const { id } = await client.createSplunkIntegration({ name: 'hec', endpoint, customerId: 'bench' });
 * await client.postEvents(JSON.stringify(events));
 * await client.close();
 * ```
 */
export class GatewayClient {
  readonly #pool: Pool;
  readonly #authorization: string;

  constructor(
    readonly url: string,
    token: string = ADMIN_TOKEN,
  ) {
    this.#pool = new Pool(url, { connections: CONNECTIONS, pipelining: 1 });
    this.#authorization = `Bearer ${token}`;
  }

  /** Runs a GraphQL operation; throws {@link GraphQLRequestError} on any error. */
  async gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const res = await this.#pool.request({
      path: '/graphql',
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: this.#authorization },
      body: JSON.stringify({ query, variables }),
    });
    const text = await res.body.text();
    let parsed: { data?: T; errors?: { message: string }[] };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new GraphQLRequestError(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
    }
    if (parsed.errors?.length || res.statusCode !== 200 || !parsed.data) {
      throw new GraphQLRequestError(`HTTP ${res.statusCode}: ${parsed.errors?.map((e) => e.message).join('; ') ?? text.slice(0, 300)}`);
    }
    return parsed.data;
  }

  /** `POST /v1/events` with a pre-serialised JSON array; throws unless the gateway answers 202. */
  async postEvents(body: string): Promise<void> {
    const res = await this.#pool.request({
      path: '/v1/events',
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: this.#authorization },
      body,
    });
    const text = await res.body.text();
    if (res.statusCode !== HTTP_ACCEPTED) throw new Error(`POST /v1/events answered ${res.statusCode}: ${text.slice(0, 300)}`);
  }

  /** Creates a Splunk HEC integration to `endpoint` (a receiver's `/services/collector/event`). */
  async createSplunkIntegration(input: { name: string; endpoint: string; customerId?: string; enabled?: boolean; batching?: BenchBatching }): Promise<IntegrationSummary> {
    return this.#create({
      name: input.name,
      customerId: input.customerId,
      enabled: input.enabled ?? true,
      batching: batchingInput(input.batching),
      config: { splunk: { endpoint: input.endpoint, token: 'bench-hec-token' } },
    });
  }

  /** Creates a syslog (RFC 5424 over TCP, octet counting) integration to 127.0.0.1:`port`. */
  async createSyslogIntegration(input: { name: string; port: number; customerId?: string; batching?: BenchBatching }): Promise<IntegrationSummary> {
    return this.#create({
      name: input.name,
      customerId: input.customerId,
      batching: batchingInput(input.batching),
      config: { syslog: { host: '127.0.0.1', port: input.port, protocol: 'TCP', format: 'RFC5424' } },
    });
  }

  /** `updateSiemIntegration(id, { enabled })`. */
  async setEnabled(id: string, enabled: boolean): Promise<IntegrationSummary> {
    const data = await this.gql<{ updateSiemIntegration: IntegrationSummary }>(
      `mutation SetEnabled($id: ID!, $enabled: Boolean!) { updateSiemIntegration(id: $id, input: { enabled: $enabled }) { ${INTEGRATION_SUMMARY} } }`,
      { id, enabled },
    );
    return data.updateSiemIntegration;
  }

  async deleteIntegration(id: string): Promise<void> {
    await this.gql('mutation Delete($id: ID!) { deleteSiemIntegration(id: $id) }', { id });
  }

  /** `stats.queued` of one integration. */
  async queued(id: string): Promise<number> {
    const data = await this.gql<{ siemIntegration: { stats: { queued: number } } }>('query Queued($id: ID!) { siemIntegration(id: $id) { stats { queued } } }', { id });
    return data.siemIntegration.stats.queued;
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  async #create(input: Record<string, unknown>): Promise<IntegrationSummary> {
    const data = await this.gql<{ createSiemIntegration: IntegrationSummary }>(
      `mutation Create($input: CreateSiemIntegrationInput!) { createSiemIntegration(input: $input) { ${INTEGRATION_SUMMARY} } }`,
      { input },
    );
    return data.createSiemIntegration;
  }
}

function batchingInput(batching: BenchBatching = {}) {
  return { batchSize: batching.batchSize ?? BATCH_SIZE, flushIntervalSeconds: batching.flushIntervalSeconds ?? FLUSH_INTERVAL_SECONDS };
}
