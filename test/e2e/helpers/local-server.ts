/**
 * A node:http server on a free 127.0.0.1 port for the e2e fakes (./fake-hub.ts,
 * ./token-server.ts, ./path-prefix-proxy.ts): an async handler whose errors become a
 * plain-text error response (or a destroyed socket once headers went out), a short
 * keep-alive, and a `close()` that drops open connections and may be called any number of times.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type LocalHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface ListenLocalOptions {
  /** Status of the response when the handler throws before any headers were sent. Default 500. */
  errorStatus?: number;
  /** Put before the error message in that response's body. Default "". */
  errorPrefix?: string;
}

export interface LocalServer {
  readonly server: Server;
  /** "http://127.0.0.1:PORT" */
  readonly url: string;
  readonly port: number;
  /** Stops listening and closes every connection; the same promise on every call. */
  close(): Promise<void>;
}

export async function listenLocal(handler: LocalHandler, opts: ListenLocalOptions = {}): Promise<LocalServer> {
  const errorStatus = opts.errorStatus ?? 500;
  const errorPrefix = opts.errorPrefix ?? '';
  const server = createServer((req, res) => {
    handler(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(errorStatus, { 'content-type': 'text/plain' });
        res.end(`${errorPrefix}${String((err as Error).message)}`);
      } else {
        res.destroy();
      }
    });
  });
  server.keepAliveTimeout = 2000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    port,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
