/**
 * A small client of a running gateway for the CLI: the REST settings API and GraphQL, over fetch
 * (undici), authenticated with a gateway API key. Failures become {@link CliError}s with sysexits codes.
 */

/** Exit codes of the customer commands (sysexits.h, as the rest of the CLI). */
export const CliExit = {
  OK: 0,
  /** A connection test failed. */
  TEST_FAILED: 1,
  USAGE: 64,
  /** Unknown customer, or input the gateway refused. */
  DATA: 65,
  /** The gateway cannot be reached (or answered 503). */
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  /** The API key is missing, invalid, revoked, of the wrong role, or not of the --mssp organisation. */
  NOPERM: 77,
} as const;

/** An error the CLI reports on stderr and exits with. */
export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** One JSON answer of the gateway. */
export interface Answer {
  status: number;
  json: any;
}

export class GatewayClient {
  constructor(
    readonly server: string,
    private readonly apiKey: string,
  ) {}

  /** Calls the REST API; 401/403 → NOPERM, 400/404 → DATA, 5xx → UNAVAILABLE/SOFTWARE. Returns 2xx answers. */
  async rest(method: string, path: string, body?: unknown): Promise<Answer> {
    const answer = await this.#fetch(path, {
      method,
      headers: { authorization: `Bearer ${this.apiKey}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (answer.status < 300) return answer;
    throw this.#error(answer);
  }

  /** Runs a GraphQL operation; returns `data` or throws the first error as a CliError. */
  async graphql<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const answer = await this.#fetch('/graphql', {
      method: 'POST',
      headers: { authorization: `Bearer ${this.apiKey}`, 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
      body: JSON.stringify({ query, variables }),
    });
    const error = answer.json?.errors?.[0];
    if (error || answer.status >= 300) {
      const code = error?.extensions?.code;
      const status = code === 'UNAUTHENTICATED' ? 401 : code === 'FORBIDDEN' ? 403 : code === 'NOT_FOUND' ? 404 : code === 'BAD_USER_INPUT' ? 400 : answer.status >= 300 ? answer.status : 500;
      throw this.#error({ status, json: { error: { message: error?.message ?? `HTTP ${answer.status}` } } });
    }
    return answer.json.data as T;
  }

  async #fetch(path: string, init: RequestInit): Promise<Answer> {
    let response: Response;
    try {
      response = await fetch(new URL(path, this.server), { ...init, signal: AbortSignal.timeout(120_000) });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(CliExit.UNAVAILABLE, `cannot reach the gateway at ${this.server}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
    }
    const text = await response.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, json };
  }

  #error(answer: Answer): CliError {
    const message: string = answer.json?.error?.message ?? `the gateway answered HTTP ${answer.status}`;
    if (answer.status === 401) return new CliError(CliExit.NOPERM, `unauthorised: ${message} (set --api-key or SIEMGATE_TOKEN to an admin API key)`);
    if (answer.status === 403) return new CliError(CliExit.NOPERM, `forbidden: ${message}`);
    if (answer.status === 400 || answer.status === 404 || answer.status === 415) return new CliError(CliExit.DATA, message);
    if (answer.status === 503 || answer.status === 502 || answer.status === 504) return new CliError(CliExit.UNAVAILABLE, message);
    return new CliError(CliExit.SOFTWARE, message);
  }
}
