/**
 * Two-certificate CA rotation on a Roles Anywhere trust anchor (`pki rotate plan | start | switch | status | finish |
 * abort`). A trust anchor holds at most 2 CA certificates and 2 CRLs (reference §2.3, §3.3): the new CA goes in beside
 * the old one, issuance moves to it, and the old one leaves once no live certificate depends on it.
 *
 * The state lives in the store (table `rotation`). A step that talks to AWS first records its intent (phase
 * `starting`, `finishing`, `aborting`), then brings the service to the state the step needs, checking what the service
 * reports (GetTrustAnchor, ListCrls) rather than assuming, then records the new phase. A step that died half-way is
 * completed by running it again.
 *
 * One module per step (plan, start, switch, finish, abort, status); analysis.ts works out what a rotation touches from
 * the store, service.ts talks to the service, shared.ts holds the common input and the phase checks.
 */
export { planRotation } from './plan.js';
export { startRotation, type StartInput } from './start.js';
export { switchRotation } from './switch.js';
export { finishRotation } from './finish.js';
export { abortRotation } from './abort.js';
export { rotationStatus } from './status.js';
export type { RotateInput } from './shared.js';
export type { PreflightCheck } from './service.js';
