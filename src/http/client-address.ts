import type { Request } from 'express';

/**
 * Who is asking, for per-address limits. On Fly the proxy names the client in
 * Fly-Client-IP (and overwrites what a client sent); elsewhere that header is anyone's.
 */
export function clientAddress(req: Request, trustFlyClientIp: boolean): string {
  const fly = trustFlyClientIp ? req.headers['fly-client-ip'] : undefined;
  return (typeof fly === 'string' ? fly : req.socket.remoteAddress) ?? 'unknown';
}
