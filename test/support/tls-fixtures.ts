import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM material for TLS tests: a throwaway CA, a server certificate it signed, a client certificate, and an unrelated CA. */
export interface TlsFixtures {
  caCert: string;
  /** Server certificate for `localhost` and `127.0.0.1`, signed by `caCert`. */
  serverCert: string;
  serverKey: string;
  /** Client certificate for mutual TLS, signed by `caCert`. */
  clientCert: string;
  clientKey: string;
  /** A CA that signed nothing here: verification against it must fail. */
  otherCaCert: string;
}

let cached: TlsFixtures | undefined;

/**
 * Creates (once per test process) a CA and certificates with the system's `openssl`.
 * Nothing is written outside a temporary directory, which is removed afterwards.
 *
 * @example
 * ```ts
 * const pki = tlsFixtures();
 * const server = tls.createServer({ key: pki.serverKey, cert: pki.serverCert }, onSocket);
 * ```
 */
export function tlsFixtures(): TlsFixtures {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'siemgate-pki-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  try {
    const ca = (name: string) => {
      run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
        '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.crt`,
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    };
    const leaf = (name: string, ext: string) => {
      run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`,
        '-keyout', `${name}.key`, '-out', `${name}.csr`);
      writeFileSync(join(dir, `${name}.ext`), ext);
      run('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
        '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`);
    };
    ca('ca');
    ca('other-ca');
    leaf('server', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n');
    leaf('client', 'extendedKeyUsage=clientAuth\n');
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    cached = {
      caCert: read('ca.crt'),
      serverCert: read('server.crt'),
      serverKey: read('server.key'),
      clientCert: read('client.crt'),
      clientKey: read('client.key'),
      otherCaCert: read('other-ca.crt'),
    };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
