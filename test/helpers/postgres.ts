/**
 * A throwaway PostgreSQL cluster for tests: initdb + pg_ctl in a temporary directory, listening on 127.0.0.1 on a free
 * port (and a Unix socket in the same directory), trust authentication for the user "pki", fsync off. The server
 * refuses to run as root: as root it runs as the `postgres` system user (runuser). `startPostgres()` returns
 * `{ skip: reason }` when no PostgreSQL binaries are installed (tests then skip, printing the reason); binaries that
 * are there but fail to make or start a cluster throw (a failure, not a skip).
 *
 * The implementation is scripts/pg-cluster.mjs, shared with `npm run soak` (SOAK_STORE=postgres).
 */
export { startPostgres, type PgCluster } from '../../scripts/pg-cluster.mjs';
