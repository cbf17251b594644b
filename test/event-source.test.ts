import { JetstreamClient } from '../src/ingest/jetstream-client.js';
import { createLogger } from '../src/observability/logger.js';
import { startJetstreamReplay } from '../testkit/standins/jetstream-server.js';
import { MemoryEventSource } from '../testkit/standins/memory-event-source.js';
import { eventSourceContract } from './contracts/event-source.js';

eventSourceContract('JetstreamClient against the replay server over loopback', async (lines) => {
  const server = await startJetstreamReplay({ lines });
  const source = new JetstreamClient({
    urls: [`${server.url}/subscribe`],
    // No filter: the contract expects every line it gave.
    wantedCollections: [],
    reconnectMinMs: 20,
    reconnectMaxMs: 100,
    stallTimeoutMs: 10_000,
    maxPayloadBytes: 16 * 1024 * 1024,
    log: createLogger('silent'),
  });
  return { source, dropConnection: () => server.dropConnections(), close: () => server.close() };
});

eventSourceContract('MemoryEventSource', async (lines) => {
  const source = new MemoryEventSource(lines);
  return { source, dropConnection: () => source.dropConnection(), close: async () => {} };
});
