/**
 * The emulator's HTTP layer: routes (method, path pattern, operation, quota group), the REST-JSON request cycle
 * (body, SigV4 presence and scope, injected faults, the 1-request-per-second quotas, the answer or the error), the
 * STS query protocol hand-off, the test hooks under /_emulator/, and the server that never crashes on a request.
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PkiError } from '../errors.js';
import type { SessionRequest } from './sessions.js';
import { ServiceError, validation } from './rules.js';

export interface Faults {
  /** Answer the next `count` API calls with this HTTP status (500, 503, ...). */
  failNext?: { status: number; count: number };
  /** Answer the next `count` API calls with ThrottlingException. */
  throttleNext?: number;
  /** Delay every answer by this many milliseconds. */
  latencyMs?: number;
  /** For the next `count` mutating calls: apply the change, then drop the connection without answering. */
  dropAfterWrite?: number;
}

export interface CallRecord {
  op: string;
  status: number;
  at: string;
}

const FAULT_KEYS = ['failNext', 'throttleNext', 'latencyMs', 'dropAfterWrite'];
/** A fault-hook value, checked field by field: anything else is a ValidationException naming the field. */
export function checkFaults(v: unknown): Faults {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw validation('faults must be a JSON object such as {"failNext":{"status":503,"count":1}}');
  const o = v as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !FAULT_KEYS.includes(k));
  if (unknown.length) throw validation(`unknown fault ${unknown.join(', ')}; the faults are ${FAULT_KEYS.join(', ')}`);
  const count = (x: unknown, field: string, max: number): number => {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > max) throw validation(`${field} must be an integer from 0 to ${max}, not ${JSON.stringify(x)}`);
    return x;
  };
  const out: Faults = {};
  if (o.failNext !== undefined) {
    const f = o.failNext;
    if (typeof f !== 'object' || f === null || Array.isArray(f)) throw validation('failNext must be {"status": 500-599 or 400-499, "count": N}');
    const { status, count: n, ...rest } = f as Record<string, unknown>;
    if (Object.keys(rest).length) throw validation(`failNext has unknown fields ${Object.keys(rest).join(', ')}`);
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599) throw validation(`failNext.status must be an HTTP error status from 400 to 599, not ${JSON.stringify(status)}`);
    out.failNext = { status, count: count(n ?? 1, 'failNext.count', 1_000_000) };
  }
  if (o.throttleNext !== undefined) out.throttleNext = count(o.throttleNext, 'throttleNext', 1_000_000);
  if (o.latencyMs !== undefined) out.latencyMs = count(o.latencyMs, 'latencyMs', 60_000);
  if (o.dropAfterWrite !== undefined) out.dropAfterWrite = count(o.dropAfterWrite, 'dropAfterWrite', 1_000_000);
  return out;
}

export type Handler = (m: RegExpMatchArray, body: Record<string, any>, query: URLSearchParams, req: SessionRequest) => { status: number; body: unknown; mutates: boolean };

export interface Route {
  method: string;
  path: RegExp;
  op: string;
  /** The quota group (§8): trustAnchor, crl, profile, session. */
  group: string;
  handler: Handler;
}

/** The API's routes; resources add theirs (src/emulator/resources/). */
export class Router {
  readonly routes: Route[] = [];
  route(method: string, path: RegExp, op: string, group: string, handler: Handler): void {
    this.routes.push({ method, path, op, group, handler });
  }
  /** POST /{path}/{id}/enable and /disable for one resource type. */
  toggles<T extends { enabled: boolean; updatedAt: string }>(path: string, name: string, group: string, findIt: (id: string) => T, wrap: (r: T) => unknown, now: () => string): void {
    for (const [verb, value] of [['enable', true], ['disable', false]] as const)
      this.route('POST', new RegExp(`^/${path}/([^/]+)/${verb}$`), `${verb === 'enable' ? 'Enable' : 'Disable'}${name}`, group, (m) => {
        const r = findIt(m[1]!);
        r.enabled = value;
        r.updatedAt = now();
        return { status: 200, body: wrap(r), mutates: true };
      });
  }
  find(method: string | undefined, path: string): Route | undefined {
    return this.routes.find((x) => x.method === method && x.path.test(path));
  }
}

/** One page of a List call (pageSize 1-100, default 50; nextToken is the offset). */
export function page<T>(items: T[], query: URLSearchParams): { slice: T[]; nextToken: string | undefined } {
  const size = Math.min(Math.max(Number(query.get('pageSize') ?? 50) || 50, 1), 100);
  const start = Number(query.get('nextToken') ?? 0) || 0;
  const slice = items.slice(start, start + size);
  return { slice, nextToken: start + size < items.length ? String(start + size) : undefined };
}

export interface HttpOptions {
  host: string;
  port: number;
  region: string;
  /** Requests per second per API group (§8: 1). 0 disables throttling. */
  rate: number;
  requireSignature: boolean;
  router: Router;
  /** Called after a mutating call succeeded, before it is answered (the state file). */
  persist(): void;
  now(): string;
  log(line: string): void;
  /** The STS query protocol (POST / form-encoded): AssumeRole. */
  sts(authorization: string | undefined, params: URLSearchParams): { op: string; status: number; body: string };
  /** GET bodies of the test hooks under /_emulator/ (calls, state, sessions). */
  hooks: Record<string, () => unknown>;
}

export interface HttpServer {
  url: string;
  port: number;
  calls(): CallRecord[];
  setFaults(f: Faults): void;
  close(): Promise<void>;
}

/** Request header bytes the emulator reads (Node's default is 16 KiB; see the ML-DSA note where the server starts). */
export const MAX_REQUEST_HEADER_BYTES = 64 * 1024;

/** Starts the HTTP server; resolves once it listens. */
export async function serveHttp(o: HttpOptions): Promise<HttpServer> {
  const calls: CallRecord[] = [];
  let faults: Faults = {};
  const buckets = new Map<string, number>();

  /** §8: one request per second per API group, a one-request burst. */
  const throttle = (group: string): void => {
    if (o.rate <= 0) return;
    // CreateSession's quota is 10 per second, the control plane's 1 (§8).
    const groupRate = group === 'session' ? o.rate * 10 : o.rate;
    const t = Date.now();
    const next = buckets.get(group) ?? 0;
    if (t < next) throw new ServiceError('ThrottlingException', 429, 'Rate exceeded');
    buckets.set(group, Math.max(next, t) + 1000 / groupRate);
  };

  /** SigV4 presence and scope: the emulator cannot know secret keys, so the signature itself is not recomputed. */
  const checkAuth = (req: http.IncomingMessage): void => {
    if (!o.requireSignature) return;
    const auth = req.headers.authorization ?? '';
    const m = /^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request,/.exec(auth);
    if (!m) throw new ServiceError('AccessDeniedException', 403, 'Missing or malformed SigV4 Authorization header');
    if (m[2] !== 'rolesanywhere') throw new ServiceError('AccessDeniedException', 403, `Credential should be scoped to service rolesanywhere, not ${m[2]}`);
    if (m[1] !== o.region) throw new ServiceError('AccessDeniedException', 403, `Credential should be scoped to region ${o.region}, not ${m[1]}`);
  };

  const send = (res: http.ServerResponse, requestId: string, status: number, body: unknown, errorType?: string): void => {
    const text = JSON.stringify(body);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), 'x-amzn-requestid': requestId };
    if (errorType) headers['x-amzn-errortype'] = errorType;
    res.writeHead(status, headers);
    res.end(text);
  };

  const control = (req: http.IncomingMessage, res: http.ServerResponse, requestId: string, path: string, body: unknown): void => {
    if (req.method === 'GET' && path === '/_emulator/calls') return send(res, requestId, 200, calls);
    const hook = req.method === 'GET' && path.startsWith('/_emulator/') ? Object.hasOwn(o.hooks, path.slice('/_emulator/'.length)) && o.hooks[path.slice('/_emulator/'.length)] : undefined;
    if (hook) return send(res, requestId, 200, hook());
    if (req.method === 'POST' && path === '/_emulator/faults') {
      faults = checkFaults(body);
      return send(res, requestId, 200, faults);
    }
    send(res, requestId, 404, { message: 'no such control endpoint' });
  };

  /** The request target as a URL; an absolute-form or origin-form target the URL parser refuses is a 400. */
  const target = (req: http.IncomingMessage): URL => {
    try {
      return new URL(req.url ?? '/', 'http://emulator');
    } catch {
      throw validation(`Malformed request target ${JSON.stringify((req.url ?? '').slice(0, 200))}: not a path or an absolute http URL`);
    }
  };

  const handle = (req: http.IncomingMessage, res: http.ServerResponse, requestId: string, bytes: Buffer): void => {
    let op = 'Unknown';
    try {
      const url = target(req);
      const raw = bytes.toString('utf8');
      // STS (query protocol): AssumeRole for role chaining.
      if (req.method === 'POST' && url.pathname === '/' && /application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? '')) {
        const out = o.sts(req.headers.authorization, new URLSearchParams(raw));
        op = out.op;
        calls.push({ op, status: out.status, at: o.now() });
        res.writeHead(out.status, { 'content-type': 'text/xml', 'content-length': String(Buffer.byteLength(out.body)), 'x-amzn-requestid': randomUUID() });
        res.end(out.body);
        return;
      }
      let body: Record<string, any> = {};
      if (raw) {
        try {
          body = JSON.parse(raw) as Record<string, any>;
        } catch {
          throw validation('Request body is not valid JSON');
        }
      }
      if (url.pathname.startsWith('/_emulator/')) return control(req, res, requestId, url.pathname, raw ? body : {});
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw validation('Request body must be a JSON object');
      const r = o.router.find(req.method, url.pathname);
      if (!r) throw new ServiceError('ResourceNotFoundException', 404, `No route for ${req.method} ${url.pathname}`);
      op = r.op;
      if (r.op !== 'CreateSession') checkAuth(req);
      if (faults.failNext && faults.failNext.count > 0) {
        faults.failNext.count--;
        throw new ServiceError('InternalServerException', faults.failNext.status, 'Injected failure');
      }
      if (faults.throttleNext && faults.throttleNext > 0) {
        faults.throttleNext--;
        throw new ServiceError('ThrottlingException', 429, 'Rate exceeded');
      }
      throttle(r.group);
      const out = r.handler(url.pathname.match(r.path)!, body, url.searchParams, { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, rawQuery: url.search.replace(/^\?/, ''), headers: req.headers, rawHeaders: req.rawHeaders, raw: bytes });
      if (out.mutates) o.persist();
      calls.push({ op, status: out.status, at: o.now() });
      if (out.mutates && faults.dropAfterWrite && faults.dropAfterWrite > 0) {
        faults.dropAfterWrite--;
        req.socket.destroy();
        return;
      }
      send(res, requestId, out.status, out.body);
    } catch (e) {
      if (e instanceof ServiceError) {
        calls.push({ op, status: e.status, at: o.now() });
        return send(res, requestId, e.status, { message: e.message }, e.type);
      }
      // Not a verdict: a defect or an environment failure (a state file that cannot be written, ...).
      o.log(`pki emulator: internal error in ${op} (request ${requestId}): ${(e as Error)?.stack ?? String(e)}\n`);
      calls.push({ op, status: 500, at: o.now() });
      send(res, requestId, 500, { message: `Internal error; the emulator logged it with request id ${requestId}`, requestId }, 'InternalServerException');
    }
  };

  // ML-DSA requests carry large headers (an ML-DSA-65 chain and signature: over Node's 16 KiB default); the service's
  // own header limit is UNCONFIRMED.
  const server = http.createServer({ maxHeaderSize: MAX_REQUEST_HEADER_BYTES }, (req, res) => {
    const requestId = randomUUID();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('error', () => req.socket.destroy());
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 2_000_000) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      /** The last line of defence: whatever escapes handle() is logged and answered, never left to crash the process. */
      const respond = (): void => {
        try {
          handle(req, res, requestId, Buffer.concat(chunks));
        } catch (e) {
          o.log(`pki emulator: internal error answering request ${requestId}: ${(e as Error)?.stack ?? String(e)}\n`);
          if (!res.headersSent) send(res, requestId, 500, { message: `Internal error; the emulator logged it with request id ${requestId}`, requestId }, 'InternalServerException');
          else res.destroy();
        }
      };
      if (faults.latencyMs) setTimeout(respond, faults.latencyMs);
      else respond();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new PkiError('IO_EMULATOR_LISTEN', `cannot listen on ${o.host}:${o.port}: ${e.message}`, { cause: e })));
    server.listen(o.port, o.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`,
    port,
    calls: () => [...calls],
    setFaults: (f) => {
      try {
        faults = checkFaults(f);
      } catch (e) {
        throw new PkiError('USAGE_EMULATOR_FAULTS', `setFaults: ${(e as Error).message}`);
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
