/**
 * A local S3-compatible server (s3rver, patched so delimiter listings see nested keys:
 * patches/s3rver+3.7.1.patch) standing in for Tigris in tests, benchmarks and the demo.
 * It can go down and come back on the same port with its data, and counts the requests
 * it answers by class, as an object store bills them.
 */
import fs from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';

/** s3rver's built-in account: the only credentials it accepts. */
const ACCESS_KEY_ID = 'S3RVER';
const SECRET_ACCESS_KEY = 'S3RVER';

export type RequestClass = 'PUT' | 'GET' | 'LIST' | 'DELETE' | 'OTHER';

export interface S3Server {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  bucket: string;
  /** Where the objects live on disk. */
  directory: string;
  /** The variables `fly storage create` sets, pointing at this server. */
  env(): Record<string, string>;
  /** Requests answered so far, by billing class. */
  requests(): Record<RequestClass, number>;
  /** Go down: open connections are cut and new ones refused. Data stays. */
  stop(): Promise<void>;
  /** Come back on the same port with the same data. */
  resume(): Promise<void>;
  close(): Promise<void>;
}

export interface S3ServerOptions {
  /** Folder for the objects; a new temporary one when omitted (removed on close). */
  directory?: string;
  bucket?: string;
  port?: number;
}

export async function startS3Server(options: S3ServerOptions = {}): Promise<S3Server> {
  const ownsDirectory = options.directory === undefined;
  const directory = options.directory ?? fs.mkdtempSync(path.join(os.tmpdir(), 'feedgen-s3-'));
  fs.mkdirSync(directory, { recursive: true });
  const bucket = options.bucket ?? 'feedgen';

  const s3 = new S3rver({ directory, silent: true, configureBuckets: [{ name: bucket, configs: [] }] });
  await s3.configureBuckets();
  const handle = s3.callback();

  const counts: Record<RequestClass, number> = { PUT: 0, GET: 0, LIST: 0, DELETE: 0, OTHER: 0 };
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = options.port ?? 0;

  const listen = async () => {
    const next = createServer((req, res) => {
      counts[requestClass(req)] += 1;
      void handle(req, res);
    });
    next.on('connection', (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => resolve());
    });
    port = (next.address() as AddressInfo).port;
    server = next;
  };
  const stop = async () => {
    const current = server;
    if (!current) return;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => current.close(() => resolve()));
  };

  await listen();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    directory,
    env: () => ({
      BUCKET_NAME: bucket,
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_REGION: 'auto',
      AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
    }),
    requests: () => ({ ...counts }),
    stop,
    resume: async () => {
      if (!server) await listen();
    },
    close: async () => {
      await stop();
      if (ownsDirectory) fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** The billing class of an S3 request (GET on a bucket is a LIST). */
function requestClass(req: IncomingMessage): RequestClass {
  const url = new URL(req.url ?? '/', 'http://s3');
  const pathParts = url.pathname.split('/').filter((p) => p !== '');
  switch (req.method) {
    case 'PUT':
    case 'POST':
      return 'PUT';
    case 'GET':
    case 'HEAD':
      return pathParts.length <= 1 ? 'LIST' : 'GET';
    case 'DELETE':
      return 'DELETE';
    default:
      return 'OTHER';
  }
}
