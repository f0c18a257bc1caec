/**
 * CA use cases: `pki init` (init.ts), `pki ca create | csr` (create.ts), `pki ca sign` (sign.ts), `pki ca import`
 * (import.ts), `pki ca list | export` (list.ts), `pki ca retire` (retire.ts); what they share is in shared.ts.
 */
export { initPki, type InitInput } from './init.js';
export { createCa, createCaCsr, type CaCsrInput, type CreateCaInput } from './create.js';
export { signCaCsr, type SignCaCsrInput } from './sign.js';
export { importCa, type ImportCaInput } from './import.js';
export { exportCa, listCas } from './list.js';
export { retireCa, retireCas } from './retire.js';
export { assertCaNameFree, caSummary, checkCaCertificate, checkCaName } from './shared.js';
