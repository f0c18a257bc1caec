/** Types of pg-cluster.mjs (a throwaway PostgreSQL cluster for tests and `npm run soak`). */
export interface PgCluster {
  host: string;
  port: number;
  /** The cluster's temporary directory (data, socket, server.log). */
  dir: string;
  /** A database URL for the user "pki" (no password: trust authentication). */
  url(db?: string): string;
  /** Creates a fresh database and returns its URL. */
  createDb(name: string): Promise<string>;
  /** Stops the server at once and removes its directory. */
  stop(): Promise<void>;
}
export function findBinDir(): string | undefined;
export function startPostgres(opts?: { maxConnections?: number }): Promise<PgCluster | { skip: string }>;
