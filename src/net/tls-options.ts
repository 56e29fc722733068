/**
 * TLS options for HTTPS and syslog-over-TLS destinations. PEM strings.
 * `clientKey` is a secret: it is encrypted at rest and never returned.
 */
export interface TlsOptions {
  /** PEM CA bundle used instead of the system roots. */
  caCert?: string;
  /** PEM client certificate for mutual TLS. */
  clientCert?: string;
  /** PEM private key of the client certificate (secret). */
  clientKey?: string;
  /** Verify the server certificate and host name. @default true */
  rejectUnauthorized: boolean;
}
