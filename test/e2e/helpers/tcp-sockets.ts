/**
 * Counts this machine's TCP sockets connected to a local port, from /proc/net/tcp{,6} (no
 * iproute2 needed): how a test sees whether a client reuses its connections. A closed client
 * connection lingers in TIME_WAIT for a minute, so a connection per request shows up as a
 * rising count even after the sockets are gone from the process.
 */
import { readFileSync } from 'node:fs';

/** Sockets in any state (ESTABLISHED, TIME_WAIT, ...) whose remote end is 127.0.0.1:`port` or [::1]:`port`. */
export function socketsTo(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let count = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const remote = line.trim().split(/\s+/)[2];
      if (remote?.endsWith(`:${hexPort}`)) count++;
    }
  }
  return count;
}
