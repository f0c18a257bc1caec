/** Types of store-checks.mjs (invariant 5 of `npm run soak`). */
export interface AmcheckSupport {
  btree: boolean;
  heap: boolean;
  why: string;
}
export interface QueryClient {
  query(sql: string, params?: unknown[]): Promise<{ rows: any[] }>;
}
export function preparePgChecker(client: QueryClient): Promise<AmcheckSupport>;
export function pgIntegrity(client: QueryClient, amcheck?: { btree: boolean; heap: boolean }, opts?: { waitMs?: number }): Promise<string[]>;
export function crlChunkProblems(rows: (sql: string, params?: unknown[]) => Promise<any[]>): Promise<string[]>;
