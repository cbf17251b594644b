/**
 * The Jetstream hosts of the fault scenario, in the order the service tries them: a
 * healthy host, one that upgrades and never sends, a second healthy host, and one that
 * accepts the connection and never answers the upgrade.
 */
import { type ConnectionRecord, type JetstreamReplayServer, startJetstreamReplay } from '../../../testkit/standins/jetstream-server.js';

export interface JetstreamHosts {
  first: JetstreamReplayServer;
  silent: JetstreamReplayServer;
  second: JetstreamReplayServer;
  noHandshake: JetstreamReplayServer;
  /** JETSTREAM_URL for the service. */
  urlList: string;
  /** Host label (host:port) of each, as feedgen_jetstream_connections_total names it. */
  label(host: JetstreamReplayServer): string;
  /** Some host has sent the stream's last line. */
  /** Whether some connection sent the frame of this line number (see framesSentFor). */
  streamSent(lastLine: number): boolean;
  closeAll(): Promise<void>;
}

export async function startJetstreamHosts(lines: readonly string[], ratePerSec: number): Promise<JetstreamHosts> {
  const start = () => startJetstreamReplay({ lines, ratePerSec });
  const [first, silent, second, noHandshake] = await Promise.all([start(), start(), start(), start()]);
  silent.setFault({ kind: 'stall' });
  noHandshake.setFault({ kind: 'no-handshake' });
  const ordered = [first, silent, second, noHandshake];
  return {
    first,
    silent,
    second,
    noHandshake,
    urlList: ordered.map((host) => `${host.url}/subscribe`).join(','),
    label: (host) => new URL(host.url).host,
    streamSent: (count) => ordered.some((host) => host.connectionLog().some((c) => c.lastLine === count)),
    closeAll: async () => {
      await Promise.all(ordered.map((host) => host.close()));
    },
  };
}

/** The newest connection a host has seen. */
export function latestConnection(host: JetstreamReplayServer): ConnectionRecord | undefined {
  return host.connectionLog().at(-1);
}
