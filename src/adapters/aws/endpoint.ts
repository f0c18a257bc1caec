/**
 * The one rule for every AWS endpoint pki sends a signed request to (Roles Anywhere CreateSession, the Roles Anywhere
 * control plane, STS AssumeRole): HTTPS, or plain HTTP to a loopback address only (a local emulator). A SigV4 or
 * AWS4-X509 request carries the access key id, the session token (X-Amz-Security-Token) or the certificate, and its
 * answer carries credentials: none of it crosses a network in clear. No imports beyond the error type: used by
 * `pki credential-process` (kept light) and by the use cases before anything is written.
 */
import { PkiError } from '../../errors.js';

/**
 * Where an endpoint came from, for the error: a use case's input field (`input.endpoint`, shown by the CLI as its
 * flag), a stored publishing target, or an environment variable.
 */
export type EndpointSource = { input: string } | { target: string } | { env: string };

function label(source: EndpointSource): { name: string; details: Record<string, unknown> } {
  if ('input' in source) return { name: `input.${source.input}`, details: { flag: `input.${source.input}`, input: source.input } };
  if ('target' in source) return { name: `target ${source.target}'s endpoint`, details: { target: source.target } };
  return { name: `$${source.env}`, details: { env: source.env } };
}

/** Whether a URL's hostname is a loopback address: 127.0.0.0/8, localhost or [::1] (nothing that merely resembles one). */
export function isLoopbackHost(hostname: string): boolean {
  if (hostname === 'localhost' || hostname === '[::1]') return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(hostname);
  return !!m && m.slice(1).every((o) => Number(o) <= 255);
}

/**
 * `raw`, checked: an https:// URL, or an http:// URL whose host is loopback. Otherwise USAGE_BAD_ENDPOINT (not an
 * http(s) URL) or USAGE_INSECURE_ENDPOINT (plain HTTP to another host), both exit 2, naming where it came from.
 */
export function checkEndpointUrl(raw: string, source: EndpointSource): URL {
  const { name, details } = label(source);
  let endpoint: URL;
  try {
    endpoint = new URL(raw);
  } catch {
    throw new PkiError('USAGE_BAD_ENDPOINT', `${name} "${raw}" is not a URL`, { details });
  }
  if (endpoint.protocol === 'https:') return endpoint;
  if (endpoint.protocol !== 'http:') throw new PkiError('USAGE_BAD_ENDPOINT', `${name} "${raw}": only https:// URLs are accepted`, { details });
  if (!isLoopbackHost(endpoint.hostname))
    throw new PkiError('USAGE_INSECURE_ENDPOINT', `${name} "${raw}" is plain HTTP to a host that is not loopback: the signed request and the credentials would cross the network unencrypted`, {
      details: { ...details, endpoint: endpoint.origin },
      hint: 'use https://; plain http:// is accepted for 127.0.0.1, localhost and [::1] only (a local emulator)',
    });
  return endpoint;
}

/** The endpoints a Roles Anywhere gateway would use: its own, and the STS endpoint when it assumes a role. */
export interface GatewayEndpoints {
  endpoint?: string;
  /** Where `endpoint` came from (default: input.endpoint). */
  endpointSource?: EndpointSource;
  awsProfile?: string;
  roleArn?: string;
}

/**
 * Checks every endpoint a gateway built from `opts` would send signed requests to: `opts.endpoint` and, when the
 * gateway assumes a role (a target's awsProfile or roleArn), $PKI_STS_ENDPOINT. Use cases call it before they write
 * anything; createGateway calls it again before the first request.
 */
export function checkGatewayEndpoints(env: Readonly<Record<string, string | undefined>>, opts: GatewayEndpoints): void {
  if (opts.endpoint !== undefined) checkEndpointUrl(opts.endpoint, opts.endpointSource ?? { input: 'endpoint' });
  if ((opts.awsProfile || opts.roleArn) && env.PKI_STS_ENDPOINT) checkEndpointUrl(env.PKI_STS_ENDPOINT, { env: 'PKI_STS_ENDPOINT' });
}
