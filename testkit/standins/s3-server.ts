/**
 * A local S3-compatible server (s3rver, patched so delimiter listings see nested keys:
 * patches/s3rver+3.7.1.patch) standing in for Tigris in tests, benchmarks and the demo.
 * It can go down and come back on the same port with its data, or stay up and answer
 * every request with a 500/503 S3 error (an overloaded or failing store), and counts the
 * requests it answers by class, as an object store bills them, keeping the headers of
 * the last one of each class.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';

/** s3rver's built-in account: the only credentials it accepts. */
const ACCESS_KEY_ID = 'S3RVER';
const SECRET_ACCESS_KEY = 'S3RVER';

export type RequestClass = 'PUT' | 'GET' | 'LIST' | 'DELETE' | 'OTHER';

export type ErrorStatus = 500 | 503;

/** What S3 itself answers with these statuses (the SDKs retry both). */
const S3_ERRORS: Record<ErrorStatus, { code: string; message: string }> = {
  500: { code: 'InternalError', message: 'We encountered an internal error. Please try again.' },
  503: { code: 'ServiceUnavailable', message: 'Please reduce your request rate.' },
};

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
  /** The headers of the last request of each class answered so far (names in lower case). */
  lastHeaders(): Partial<Record<RequestClass, IncomingHttpHeaders>>;
  /** Go down: open connections are cut and new ones refused. Data stays. */
  stop(): Promise<void>;
  /** Come back on the same port with the same data. */
  resume(): Promise<void>;
  /**
   * Stay up but answer every request with one of `statuses` in turn (500 InternalError,
   * 503 ServiceUnavailable), an S3 XML error body, and nothing stored: until answerNormally().
   */
  answerErrors(statuses?: readonly ErrorStatus[]): void;
  answerNormally(): void;
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
  const headers: Partial<Record<RequestClass, IncomingHttpHeaders>> = {};
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = options.port ?? 0;
  let errorStatuses: readonly ErrorStatus[] = [];
  let errorsAnswered = 0;

  const listen = async () => {
    const next = createServer((req, res) => {
      const kind = requestClass(req);
      counts[kind] += 1;
      headers[kind] = { ...req.headers };
      if (errorStatuses.length === 0) return void handle(req, res);
      const status = errorStatuses[errorsAnswered++ % errorStatuses.length]!;
      // Read the upload before answering, as S3 does, so the connection stays usable.
      req.resume();
      req.once('end', () => answerError(res, status, req.url ?? '/'));
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
    lastHeaders: () => ({ ...headers }),
    stop,
    resume: async () => {
      if (!server) await listen();
    },
    answerErrors: (statuses = [503, 500]) => {
      if (statuses.length === 0) throw new Error('answerErrors needs at least one status');
      errorStatuses = statuses;
    },
    answerNormally: () => {
      errorStatuses = [];
    },
    close: async () => {
      await stop();
      if (ownsDirectory) fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}

function answerError(res: ServerResponse, status: ErrorStatus, resource: string): void {
  const { code, message } = S3_ERRORS[status];
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${code}</Code><Message>${message}</Message><Resource>${escapeXml(resource)}</Resource><RequestId>${requestId}</RequestId></Error>`;
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body), 'x-amz-request-id': requestId });
  res.end(body);
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
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
