/**
 * CRLs: `pki crl generate | check | inspect | list | export`. generate.ts makes and records a CRL (merge.ts compares
 * it with the previous one, file.ts writes its files); check.ts, inspect.ts and list-export.ts read them.
 */
export { generateCrl, type GenerateCrlInput } from './generate.js';
export { checkCrl, CHECK_EXIT, type CheckCrlInput } from './check.js';
export { inspectCrl, type CrlHeader, type InspectCrlInput } from './inspect.js';
export { exportCrl, listCrls } from './list-export.js';
