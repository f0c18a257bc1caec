/** The part of pg-cursor 2.x that the PostgreSQL store uses (the package ships no types). */
declare module 'pg-cursor' {
  import type { Submittable } from 'pg';
  export default class Cursor<R = unknown> implements Submittable {
    constructor(text: string, values?: unknown[], config?: { rowMode?: 'array' });
    submit: Submittable['submit'];
    read(rows: number): Promise<R[]>;
    close(): Promise<void>;
  }
}
